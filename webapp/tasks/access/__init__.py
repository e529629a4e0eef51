"""Who may do what: login and tokens (login), the login throttle and rate limits
(throttle), roles and permissions (roles), owner scope (scope), CSRF for browsers
(csrf)."""
