"""The tabs of a route's console pages: key (the URL name, `routing:<key>` unless said otherwise), label.

Its own module so another app's tab page (deployments' Releases) draws the same tab bar without importing
routing's views.
"""

TABS = [
    ("overview", "Overview"),
    ("overrides", "Environment Overrides"),
    ("clients", "Environment Clients"),
    ("secrets", "Secrets in use"),
    ("test", "Test"),
    ("releases", "Releases"),
    ("history", "History"),
]
