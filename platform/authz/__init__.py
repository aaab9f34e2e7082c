"""The one authorization layer (issue 16): every view, API method, task and command names
its action (authz.actions) and asks here. docs/authorization.md explains it."""
