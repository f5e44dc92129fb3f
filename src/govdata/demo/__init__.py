"""The Liuzhou (柳州市, 450200) demo: a realistic organisation tree and demo accounts."""
