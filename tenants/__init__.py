"""Apps whose tables live in each firm's own schema (TENANT_APPS)."""
