"""Demo settings for JupyterHub, on top of conf/jupyterhub_config.py.

scripts/demo starts the hub with this file and these environment variables:

  MTO_DEMO_RUN_DIR        run-time directory (database, cookie secret, homes)
  MTO_DEMO_HUB_API_TOKEN  API token of the service "demo-tester", which the
                          end-to-end test uses to read users, their
                          auth_state and servers, and to stop servers
                          (optional: without it there is no such service)
  JUPYTERHUB_CRYPT_KEY    key for auth_state, read by JupyterHub itself
"""

import os

c = get_config()  # noqa: F821 (defined by the config loader)

# traitlets' load_subconfig ignores a missing file, so check first.
base_config = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "conf", "jupyterhub_config.py")
if not os.path.isfile(base_config):
    raise FileNotFoundError(f"hub configuration not found: {base_config}")
load_subconfig(base_config)  # noqa: F821 (defined by the config loader)

run_dir = os.environ["MTO_DEMO_RUN_DIR"]
hub_dir = os.path.join(run_dir, "hub")

c.JupyterHub.db_url = "sqlite:///" + os.path.join(hub_dir, "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(hub_dir, "cookie_secret")
c.ConfigurableHTTPProxy.pid_file = os.path.join(hub_dir, "proxy.pid")

# SimpleLocalProcessSpawner runs every user's notebook server as the hub's
# own Unix user, with no isolation between users. It needs no system
# accounts for tenant-namespaced names such as alice@tenant-a.localhost,
# which suits a demo only.
c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
c.SimpleLocalProcessSpawner.home_dir_template = os.path.join(
    run_dir, "home", "{username}")
# Debian's single-user server runs on /usr/bin/python3, which has the
# notebook package; another python3 earlier on PATH may not.
c.Spawner.cmd = ["/usr/bin/jupyterhub-singleuser"]
if os.getuid() == 0:
    # The notebook server refuses to start as root without this flag. The
    # demo runs the hub as root when scripts/demo runs as root.
    c.Spawner.args = ["--allow-root"]

tester_token = os.environ.get("MTO_DEMO_HUB_API_TOKEN")
if tester_token:
    c.JupyterHub.services = [
        {"name": "demo-tester", "api_token": tester_token},
    ]
    c.JupyterHub.load_roles = [
        {
            "name": "demo-tester",
            "scopes": ["list:users", "read:users", "admin:auth_state",
                       "servers"],
            "services": ["demo-tester"],
        },
    ]
