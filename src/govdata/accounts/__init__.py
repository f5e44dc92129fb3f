"""People, roles, login sessions and system credentials (人员、角色、登录与系统凭证)."""
