"""数据归集与治理: uploads, source databases, validation, quality, dataset versions."""
