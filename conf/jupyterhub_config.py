"""JupyterHub configuration for a hub behind httpd and mod_multitenant_oidc.

httpd signs each user in with the OpenID Connect provider of the tenant
that owns the request's host name. It then forwards every authenticated
request with two headers: the tenant-namespaced user name (REMOTE_USER by
default, for example ``alice@acme.example.com``) and the base URL of the
tenant's API (X-Tenant-API-Base, for example ``https://acme.example.com/api``).
The authenticator defined here trusts those headers. That is safe only while
every request reaches the hub through httpd, which removes both headers from
incoming requests before it sets them. So the hub and its proxy listen on
loopback only, and the host must have no untrusted local users, who could
reach those ports directly.

Requirements: JupyterHub 3 (Debian's ``jupyterhub`` package runs on
``/usr/bin/python3``), and ``JUPYTERHUB_CRYPT_KEY`` in the hub's environment
(32 random bytes in hex, for example ``openssl rand -hex 32``), because the
tenant API base URL is kept in the encrypted ``auth_state``.

Start with ``jupyterhub -f jupyterhub_config.py``. A site adds its own spawner
settings, either below or in a second file that loads this one with
``load_subconfig``.
"""

import os
import unicodedata
from urllib.parse import urlsplit

from jupyterhub.auth import Authenticator
from jupyterhub.handlers import BaseHandler, LogoutHandler
from jupyterhub.handlers.base import SESSION_COOKIE_NAME
from tornado import web
from traitlets import Unicode, default

c = get_config()  # noqa: F821 (defined by the config loader)


def read_single_header(handler, name):
    """Return the value of request header ``name``, or None.

    A header that is missing, empty, sent more than once or containing a
    comma gives None. configurable-http-proxy runs on Node.js, which joins
    repeated headers into one value with ", ", so a comma is how a second
    copy of the header shows up behind it.
    """
    values = handler.request.headers.get_list(name)
    if len(values) != 1:
        return None
    value = values[0].strip()
    if not value or "," in value:
        return None
    return value


class TenantHeaderLoginHandler(BaseHandler):
    """Log the user named in the user header in, then redirect to ``next``.

    httpd sends the browser here only with a valid session, so the handler
    never shows a form. A request without the header gets 401.
    """

    async def get(self):
        authenticator = self.authenticator
        name = authenticator.user_from_headers(self)
        if name is None:
            self.log.warning(
                "Login rejected: request header %s is missing or invalid",
                authenticator.user_header,
            )
            raise web.HTTPError(
                401,
                f"Missing or invalid {authenticator.user_header} header: "
                "sign in through the web server in front of the hub.",
            )

        user = self.current_user
        if user is not None and user.name == name:
            self.set_login_cookie(user)
        else:
            self.drop_login_cookies()
            user = await self.login_user()
            if user is None:
                raise web.HTTPError(403, f"User {name} is not allowed.")
        self.redirect(self.get_next_url(user))

    def drop_login_cookies(self):
        """Clear the hub cookies of an earlier user of this browser.

        The header from httpd decides who is logged in. JupyterHub's
        set_login_cookie keeps any hub cookie that the request carries, so
        the old cookies are also removed from the parsed request.
        """
        self.clear_login_cookie()
        for cookie_name in (self.hub.cookie_name, SESSION_COOKIE_NAME):
            self.request.cookies.pop(cookie_name, None)


class TenantLogoutHandler(LogoutHandler):
    """Log out without sending the browser back to the login page.

    httpd has already cleared its own session when this runs. The page that
    JupyterHub renders for ``auto_login`` authenticators ends the flow. A
    redirect to /hub/login would start a new sign-in at once, and the
    provider, which still has its own session, would log the user back in.
    """

    async def default_handle_logout(self):
        await super().default_handle_logout()
        # The hub may no longer see a current user because the user header
        # is gone, but the browser can still hold hub cookies.
        self.clear_login_cookie()


class TenantHeaderAuthenticator(Authenticator):
    """Authenticate users from the headers that mod_multitenant_oidc sets."""

    user_header = Unicode(
        "REMOTE_USER",
        config=True,
        help="Request header with the user name (MTOIDCUserHeader in httpd).",
    )
    api_header = Unicode(
        "X-Tenant-API-Base",
        config=True,
        help="Request header with the tenant API base URL "
        "(MTOIDCAPIHeader in httpd).",
    )

    @default("auto_login")
    def _default_auto_login(self):
        # The sign-in happens in httpd before the request reaches the hub.
        return True

    # Recheck the user header against the hub's cookie before each spawn and
    # at most once a second per user otherwise. One second is the shortest
    # interval, because JupyterHub 3 reads 0 as "never recheck".
    # NOTE: a cookie-authenticated request that arrives within that second
    # after a checked one is not checked again.
    @default("auth_refresh_age")
    def _default_auth_refresh_age(self):
        return 1

    @default("refresh_pre_spawn")
    def _default_refresh_pre_spawn(self):
        return True

    def get_handlers(self, app):
        return [
            (r"/login", TenantHeaderLoginHandler),
            (r"/logout", TenantLogoutHandler),
        ]

    def normalize_username(self, username):
        # OpenID Connect subjects are case-sensitive, so JupyterHub's default
        # lower-casing would merge "Alice" and "alice" of one tenant.
        return self.username_map.get(username, username)

    def validate_username(self, username):
        if len(username) > 255:
            return False
        # Control and format characters (Unicode category C) could end a
        # log line or hide part of the name.
        if any(unicodedata.category(ch).startswith("C") for ch in username):
            return False
        return super().validate_username(username)

    def user_from_headers(self, handler):
        """Return the normalized user name from the user header, or None."""
        name = read_single_header(handler, self.user_header)
        if name is None:
            return None
        name = self.normalize_username(name)
        if not self.validate_username(name):
            self.log.warning("Rejected invalid user name %r", name)
            return None
        return name

    def api_base_from_headers(self, handler):
        """Return the tenant API base URL from the API header, or None."""
        value = read_single_header(handler, self.api_header)
        if value is None:
            return None
        parts = urlsplit(value)
        if (parts.scheme not in ("https", "http") or not parts.hostname
                or any(ch.isspace() for ch in value)):
            self.log.warning("Ignored invalid %s header %r",
                             self.api_header, value)
            return None
        return value

    async def authenticate(self, handler, data=None):
        name = self.user_from_headers(handler)
        if name is None:
            return None
        api_base = self.api_base_from_headers(handler)
        if api_base is None:
            self.log.warning("No tenant API base URL for %s", name)
        return {"name": name, "auth_state": {"tenant_api_base": api_base}}

    async def refresh_user(self, user, handler=None):
        """Keep a hub cookie valid only while httpd vouches for its user.

        Requests authenticated by an API token (REST clients, single-user
        servers) do not pass through the OpenID Connect sign-in and are left
        alone. A browser request whose user header is missing or names
        someone else makes the hub ask for a new login.
        """
        if handler is None or handler.get_token() is not None:
            return True
        name = self.user_from_headers(handler)
        if name != user.name:
            self.log.info("Hub cookie of %s no longer matches header %s",
                          user.name, self.user_header)
            return False
        api_base = self.api_base_from_headers(handler)
        auth_state = await user.get_auth_state() or {}
        if api_base is not None and auth_state.get("tenant_api_base") != api_base:
            return {"auth_state": {**auth_state, "tenant_api_base": api_base}}
        return True

    async def pre_spawn_start(self, user, spawner):
        """Pass the tenant API base URL to the server as TENANT_API_BASE."""
        auth_state = await user.get_auth_state() or {}
        api_base = auth_state.get("tenant_api_base")
        environment = dict(spawner.environment)
        if api_base:
            environment["TENANT_API_BASE"] = api_base
        else:
            environment.pop("TENANT_API_BASE", None)
            self.log.warning("Spawning %s without TENANT_API_BASE", user.name)
        spawner.environment = environment


c.JupyterHub.authenticator_class = TenantHeaderAuthenticator
c.Authenticator.enable_auth_state = True

# httpd proxies to the hub's proxy on loopback. Nothing else may reach the
# hub, its proxy's API or the single-user servers.
c.JupyterHub.bind_url = "http://127.0.0.1:8000"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:8081"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:8001"
c.Spawner.ip = "127.0.0.1"

# httpd terminates TLS. The hub receives plain HTTP from its proxy and would
# not mark its cookies Secure on its own.
c.JupyterHub.tornado_settings = {"cookie_options": {"secure": True}}

# Debian's configurable-http-proxy loads its modules from /usr/share/nodejs,
# which a Node.js from another source does not search by default.
if os.path.isdir("/usr/share/nodejs"):
    os.environ.setdefault("NODE_PATH", "/usr/share/nodejs")
