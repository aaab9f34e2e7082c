"""The firm API (/api/v1/ on the firm host), for payroll software. Token-only, firm-scoped."""
