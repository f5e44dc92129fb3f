"""The action log (操作日志): who did what, when, from where, with the before and after of each change."""
