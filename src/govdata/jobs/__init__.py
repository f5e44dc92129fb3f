"""Background jobs (后台任务): a table-backed queue with leases, so long work survives restarts."""
