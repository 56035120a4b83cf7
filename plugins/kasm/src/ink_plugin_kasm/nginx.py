# ruff: noqa: E501 -- nginx directives copied from the chart keep their long header lists on one line
"""Kasm's nginx configuration for the proxy, from kasmtech/kasm-helm charts/kasm/templates/proxy-configmaps.yaml.

The three ConfigMaps of the chart (base ``nginx.conf``, the zone's settings in ``conf.d``, the service
locations in ``conf.d/services.d``) with the chart's values for one zone and deploymentSize ``small``
filled in. Left out: the TLS listener (``orchestrator.conf``, 8443 with Kasm's own certificate: TLS
ends at the ingress here), ``logging.conf`` (a log format no location uses), and the RDP gateways'
locations (this plugin does not run them; README). The files are used as written (no template).
"""

from __future__ import annotations

from ink_plugin_kasm import API_PORT, GUAC_CLUSTER_PORTS, GUAC_PORT, MANAGER_PORT, PROXY_PORT, SHARE_PORT

# "proxy-processes" small (resources.preset); pid and temp paths sit on the pod's scratch volumes.
BASE = """\
user  nginx;
worker_processes 2;

error_log  /var/log/nginx/error.log notice;
pid        /var/run/nginx.pid;

events {
  worker_connections  1024;
}

http {
  include       /etc/nginx/mime.types;
  default_type  application/octet-stream;

  log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                    '$status $body_bytes_sent "$http_referer" '
                    '"$http_user_agent" "$http_x_forwarded_for"';

  access_log  /var/log/nginx/access.log  main;

  sendfile        on;

  keepalive_timeout  65;

  include /etc/nginx/conf.d/*.conf;
}
"""

COMPRESS = """\
gzip on;
gzip_disable "MSIE [1-6]\\.(?!.*SV1)";
gzip_vary on;
gzip_proxied any;
gzip_comp_level 9;
gzip_types text/plain text/css application/javascript application/x-javascript text/xml application/xml application/xml+rss text/javascript image/x-icon image/vnd.microsoft.icon image/bmp image/svg+xml;
"""

# The forwarded scheme and port: Traefik sends X-Forwarded-Proto/Port, so the maps pass them on.
ORCHESTRATOR_HTTP = f"""\
map $http_x_forwarded_proto $x_forwarded_proto {{
  default $http_x_forwarded_proto;
  ""      $scheme;
}}

map $x_forwarded_proto $default_http_port {{
  default 443;
  "https" 443;
}}

map $http_host $request_port {{
  default                 $default_http_port;
  "~^[^\\:]+:(?<p>\\d+)$"   $p;
}}

map $http_x_forwarded_port $x_forwarded_port {{
  default $http_x_forwarded_port;
  ""      $request_port;
}}

server {{
  listen {PROXY_PORT};
  server_name ubuntu-base;

  include /etc/nginx/conf.d/services.d/*.conf;
  include /etc/nginx/conf.d/containers.d/*.conf;

  client_max_body_size 1G;
  server_tokens off;

  proxy_intercept_errors on;
  error_page 500 = @internal_error;
  location @internal_error {{
    default_type "text/html";
    return 500 "<H1>Internal Error</H1>";
  }}
}}
"""


def _upstream(name: str, servers: list[str]) -> str:
    lines = "".join(f"  server {server};\n" for server in servers)
    return f"upstream {name} {{\n{lines}  keepalive 16;\n}}\n"


_PROXIED = """\
  proxy_http_version      1.1;
  proxy_set_header        Host $host;
  proxy_set_header        Upgrade $http_upgrade;
  proxy_set_header        Connection "upgrade";
  proxy_set_header        X-Real-IP $remote_addr;
  proxy_set_header        X-Forwarded-For $proxy_add_x_forwarded_for;
"""
_LONG = """\
  proxy_read_timeout      1800s;
  proxy_send_timeout      1800s;
  proxy_connect_timeout   1800s;
  proxy_buffering         off;
  client_max_body_size    1G;
  expires                 4h;
  add_header              Cache-Control "private";
"""
_CORS = """\
  proxy_hide_header       'Access-Control-Allow-Credentials';
  proxy_hide_header       'Access-Control-Allow-Origin';
  proxy_hide_header       'Access-Control-Allow-Methods';
  proxy_hide_header       'Access-Control-Allow-Headers';
  proxy_hide_header       'Strict-Transport-Security';
  proxy_hide_header       'X-Content-Type-Options';
  add_header              'Access-Control-Allow-Origin' $http_origin 'always';
  add_header              'Access-Control-Allow-Methods' 'GET, POST, OPTIONS' 'always';
  add_header              'Access-Control-Allow-Headers' 'DNT,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range' 'always';
  add_header              'Access-Control-Allow-Credentials' 'true' 'always';
  add_header              'Strict-Transport-Security' "max-age=63072000" always;
  add_header              'X-Content-Type-Options' 'nosniff';
"""
_COOKIES = (
    '  proxy_set_header        Cookie "username=$cookie_username; session_token=$cookie_session_token; '
    'kasm_client_key=$cookie_kasm_client_key";\n'
)
_HSTS = '  add_header              Strict-Transport-Security "max-age=63072000" always;\n'


def _api_location(path: str, target: str, *, forwarded: bool = True, hsts: bool = True) -> str:
    # Upstream passes the client's scheme and port on for the API; manager and share get nginx's own scheme.
    proto = "$x_forwarded_proto" if forwarded else "$scheme"
    headers = f"  proxy_set_header        X-Forwarded-Proto {proto};\n"
    if forwarded:
        headers += "  proxy_set_header        X-Forwarded-Port $x_forwarded_port;\n"
    return f"location {path} {{\n{_PROXIED}{headers}{_HSTS if hsts else ''}  proxy_pass              {target};\n}}\n"


WEBSITE = """\
location / {
    rewrite               ^/workspace/(.+)/(.+)/(.+)/(.+)/(.+)/(.+)$ /$2/$3/$4/$5/$6 last; # dynamic manifest
    rewrite               ^/workspace/(.+)/(.+)/(.+)/(.+)$ /$2/$3/$4 last; # admin api /
    rewrite               ^/workspace/(.+)/(.+)/(.+)$ /$2/$3 last; # client api / images
    rewrite               ^/workspace/(.+)/(.*)$ /$2 break; # UI
    expires               4h;
    add_header            Cache-Control "private";
    add_header            X-Robots-Tag "noindex, nofollow, nosnippet, noarchive";
    add_header            'Access-Control-Allow-Origin' $http_origin always;
    add_header            'Access-Control-Allow-Methods' 'GET, POST, OPTIONS';
    add_header            'Access-Control-Allow-Headers' 'DNT,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range';
    add_header            'Access-Control-Allow-Credentials' 'true';
    add_header            'Strict-Transport-Security' "max-age=63072000" always;
    add_header            'X-Content-Type-Options' 'nosniff';
    root /srv/www;
}
"""

CLOSEST = """\
location /checkvalid {
  return 200 'ok';
  add_header Access-Control-Allow-Origin *;
  add_header Content-Type text/plain;
}
"""

SUBSCRIPTION_API = f"""\
location /api/subscriptions/ {{
  add_header              'Access-Control-Allow-Origin' 'https://www.kasmweb.com' always;
  add_header              'Access-Control-Allow-Methods' 'GET, POST, OPTIONS';
  add_header              'Access-Control-Allow-Headers' 'Authorization,Content-Type,Accept,Origin,User-Agent,DNT,Cache-Control,X-Mx-ReqToken,Keep-Alive,X-Requested-With,If-Modified-Since';
  add_header              'Access-Control-Allow-Credentials' 'true';

  if ($request_method = 'OPTIONS') {{
      return 204;
  }}

{_PROXIED}  proxy_set_header        X-Forwarded-Proto $scheme;
{_HSTS}  proxy_pass              http://kasm-api;
}}
"""

# The session paths: /desktop/ asks the API (/kasm_connect, an auth_request) where the session runs and proxies
# the websocket to that agent.
UPSTREAM_PROXY = f"""\
location /kasm_connect {{
  internal;
  proxy_pass              http://kasm-api/api/kasm_connect/;
  proxy_pass_request_body off;
  proxy_set_header        Content-Length '';
  proxy_set_header        X-Original-URI $request_uri;
  proxy_set_header        Cookie "username=$cookie_username; session_token=$cookie_session_token; kasm_client_key=$cookie_kasm_client_key";
  proxy_http_version      1.1;
  proxy_set_header        Connection "";
}}

location /desktop/ {{
  if ($request_method = OPTIONS) {{
    rewrite .* /_options_response last;
  }}

  auth_request            /kasm_connect;
  auth_request_set        $connect_hostname     $upstream_http_connect_hostname;
  auth_request_set        $connect_port         $upstream_http_connect_port;
  auth_request_set        $connect_path         $upstream_http_connect_path;
  auth_request_set        $connect_auth         $upstream_http_connect_auth;
  auth_request_set        $connect_kasm_id      $upstream_http_connect_kasm_id;
  auth_request_set        $connect_schema       $upstream_http_connect_schema;
{_PROXIED}  proxy_set_header        X-Forwarded-Proto $scheme;
  proxy_set_header        Authorization "${{connect_auth}}";
  proxy_set_header        X-Kasm-ID "${{connect_kasm_id}}";
{_COOKIES}  rewrite                 ^/desktop/(.*) /$1 break;
  proxy_pass              $connect_schema://$connect_hostname:$connect_port/$connect_path;
{_LONG}{_CORS}}}

location /_options_response {{
  add_header          'Access-Control-Allow-Origin' $http_origin 'always';
  add_header          'Access-Control-Allow-Methods' 'GET, POST, OPTIONS' 'always';
  add_header          'Access-Control-Allow-Headers' 'DNT,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range' 'always';
  add_header          'Access-Control-Allow-Credentials' 'true' 'always';
  add_header          'Strict-Transport-Security' "max-age=63072000" always;
  add_header          'X-Content-Type-Options' 'nosniff';
  add_header          Content-Type text/plain;
  add_header          Content-Length 0;
  return 204;
}}
"""


# The guac session paths of upstream_proxy.conf: only with guac (they name its upstream).
UPSTREAM_PROXY_GUAC = f"""\
location ~ /kasmguac/([0-9a-f-]+)/(\\w+)(?!/vnc.htmlguaclite)(/.+) {{
  if ($request_method = OPTIONS) {{
    rewrite .* /_options_response last;
  }}

  set $kasm_id  $1;
  set $service  $2;
  set $new_path $3;
{_PROXIED}  proxy_set_header        X-Forwarded-Proto $scheme;
  proxy_set_header        X-Kasm-ID "${{kasm_id}}";
  proxy_set_header        Authorization "Bearer ${{connect_auth}}";
{_COOKIES}  proxy_pass              http://127.0.0.1:{PROXY_PORT}/guac_connect/$service$new_path;
{_LONG}{_HSTS}}}

location ~ /kasmguac/([0-9a-f-]+)/vnc/vnc.htmlguaclite {{
  if ($request_method = OPTIONS) {{
    rewrite .* /_options_response last;
  }}

  set $kasm_id $1;
{_PROXIED}  proxy_set_header        X-Kasm-ID "${{kasm_id}}";
{_COOKIES}  proxy_pass              http://kasm-guac-backend/vnc.htmlguaclite$is_args$args;
{_LONG}{_CORS}}}
"""


def _vm_location(path: str) -> str:
    return f"""\
location {path} {{
  auth_request            /vm_connect;
  auth_request_set        $connect_hostname     $upstream_http_connect_hostname;
  auth_request_set        $connect_port         $upstream_http_connect_port;
  auth_request_set        $connect_path         $upstream_http_connect_path;
  auth_request_set        $connect_auth         $upstream_http_connect_auth;
{_PROXIED}  proxy_set_header        X-Forwarded-Proto $scheme;
  proxy_set_header        Authorization "Bearer ${{connect_auth}}";
  rewrite                 ^{path}(.*) /$1 break;
  proxy_pass              https://$connect_hostname:$connect_port;
{_LONG}{_HSTS}}}
"""


KASMGUAC = f"""\
location /guac_connect/vnc/ {{
{_PROXIED}  proxy_set_header        X-Forwarded-Proto $scheme;
  proxy_pass              http://kasm-guac:{GUAC_PORT}/;
{_LONG}{_HSTS}}}

location /guac_connect/vnc/vnc.htmlguaclite {{
{_PROXIED}  proxy_set_header        X-Forwarded-Proto $scheme;
  proxy_pass              http://kasm-guac-backend/vnc.htmlguaclite$is_args$args;
{_LONG}{_HSTS}  add_header              X-Content-Type-Options 'nosniff';
}}

location /vm_connect {{
  internal;
  proxy_pass              http://kasm-guac:{GUAC_PORT}/vm_connect;
  proxy_pass_request_body off;
  proxy_set_header        Content-Length '';
  proxy_set_header        X-Original-URI $request_uri;
  proxy_http_version      1.1;
  proxy_set_header        Connection "";
}}

{_vm_location("/guac_connect/uploads/")}
{_vm_location("/guac_connect/downloads/")}
{_vm_location("/guac_connect/api/")}
location /guac_login {{
  proxy_pass http://kasm-guac:{GUAC_PORT}/guac_login;
}}

location /guac/__healthcheck {{
  proxy_pass http://kasm-guac:{GUAC_PORT}/__healthcheck;
}}

location /guac/vm_disconnect {{
  proxy_pass http://kasm-guac:{GUAC_PORT}/vm_disconnect;
}}
"""


def settings_files(*, guac: bool, share: bool) -> dict[str, str]:
    """conf.d: the zone's settings and its upstreams (the chart's <proxy>-<zone>-settings-configmap)."""
    files = {
        "compress.conf": COMPRESS,
        "orchestrator_http.conf": ORCHESTRATOR_HTTP,
        "upstream_api.conf": _upstream("kasm-api", [f"kasm-api:{API_PORT}"]),
        "upstream_manager.conf": _upstream("kasm-manager", [f"kasm-manager:{MANAGER_PORT}"]),
    }
    if guac:
        files["upstream_guac.conf"] = _upstream("kasm-guac-backend", [f"kasm-guac:{p}" for p in GUAC_CLUSTER_PORTS])
    if share:
        files["upstream_share.conf"] = _upstream("kasm-share", [f"kasm-share:{SHARE_PORT}"])
    return files


def services_files(*, guac: bool, share: bool) -> dict[str, str]:
    """conf.d/services.d: the locations (the chart's <proxy>-services-configmap)."""
    files = {
        "closest.conf": CLOSEST,
        "admin_api.conf": _api_location("/api/admin/", "http://kasm-api"),
        "client_api.conf": _api_location("/api/", "http://kasm-api"),
        "manager_api.conf": _api_location("/manager_api/", "http://kasm-manager/", forwarded=False, hsts=False),
        "subscription_api.conf": SUBSCRIPTION_API,
        "upstream_proxy.conf": UPSTREAM_PROXY + (f"\n{UPSTREAM_PROXY_GUAC}" if guac else ""),
        "website.conf": WEBSITE,
    }
    if guac:
        files["kasmguac.conf"] = KASMGUAC
    if share:
        files["share_api.conf"] = _api_location("/api/share/", "http://kasm-share", forwarded=False)
    return files
