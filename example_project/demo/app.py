"""A native app's approve, played from the command line against the demo.

    python -m demo.app QR.png                    # a screenshot of the sign-in page's code
    python -m demo.app --user bob QR.png
    python -m demo.app https://host/qr/approve/<code>/

It does what a site's own app does (docs/howto/app.rst): sign in once for
a token (here Django REST framework's, with the demo's password), read the
QR (from a file: the phone's camera), look at the code and show what would
be signed in where, ask for the number the other screen shows, and
approve or deny. Standard library only, but for the QR decoder.
"""

from __future__ import annotations

import argparse
import json
import sys
from urllib.error import HTTPError
from urllib.parse import urlencode, urlsplit
from urllib.request import Request, urlopen

DEMO_PASSWORD = "qrauth-demo"
APPROVE_PATH = "/qr/approve/"


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    url = args.qr if args.qr.startswith(("http://", "https://")) else read_qr(args.qr)
    server, code = split_scan_url(url, args.server)
    token = sign_in(server, args.user, args.password)
    details = call(server, token, "GET", f"/qr/api/approve/{code}/")
    if "error" in details:
        return _refused(details)
    show(details)
    body = {"scan": details["scan"], "action": "approve" if _approving(args) else "deny"}
    if body["action"] == "approve" and details["number_required"]:
        body["number"] = input("Type the number the other screen shows: ").strip()
    answer = call(server, token, "POST", "/qr/api/approve/", body)
    if "error" in answer:
        return _refused(answer)
    print(f"Answered: {answer['state']}")
    return 0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("qr", help="a PNG of the QR code, or the scan URL it holds")
    parser.add_argument("--user", default="alice", help="who the app is signed in as")
    parser.add_argument("--password", default=DEMO_PASSWORD)
    parser.add_argument("--server", help="the site, when the QR's host is not reachable")
    parser.add_argument("--deny", action="store_true", help="deny instead of approving")
    parser.add_argument("--yes", action="store_true", help="approve without asking")
    return parser.parse_args(argv)


def read_qr(path: str) -> str:
    """The text of the QR code in the image at ``path`` (the camera's job)."""
    import zxingcpp
    from PIL import Image

    found = zxingcpp.read_barcodes(Image.open(path), formats=zxingcpp.BarcodeFormat.QRCode)
    if not found:
        sys.exit(f"no QR code in {path}")
    return found[0].text


def split_scan_url(url: str, server: str | None) -> tuple[str, str]:
    """(the site, the code) of an approve scan URL: the code is its last segment."""
    parts = urlsplit(url)
    if not parts.path.startswith(APPROVE_PATH):
        sys.exit(f"not an approve code of this site: {url}")
    code = parts.path[len(APPROVE_PATH) :].strip("/")
    return (server or f"{parts.scheme}://{parts.netloc}").rstrip("/"), code


def sign_in(server: str, username: str, password: str) -> str:
    form = urlencode({"username": username, "password": password}).encode()
    with urlopen(f"{server}/api/token/", form, timeout=10) as response:
        return json.load(response)["token"]


def call(server: str, token: str, method: str, path: str, body: dict | None = None) -> dict:
    """The API's JSON answer, refusals included (``{"error": ...}``)."""
    headers = {"Authorization": f"Token {token}", "User-Agent": "qrauth-demo-app/1.0"}
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    request = Request(f"{server}{path}", data, headers, method=method)
    try:
        with urlopen(request, timeout=10) as response:
            return json.load(response)
    except HTTPError as refusal:
        return json.load(refusal)


def show(details: dict) -> None:
    requester = details["requester"]
    network = {True: "on this phone's network", False: "on another network"}.get(
        requester["same_network"], "on an unknown network"
    )
    print(f"Sign in to {details['site']} as {details['account']['name']}")
    print(f"  on {requester['device']} at {requester['address'] or 'an unknown address'}")
    print(f"  ({network}), code shown {details['age']}.")


def _approving(args: argparse.Namespace) -> bool:
    if args.deny:
        return False
    if args.yes:
        return True
    return input("Approve? [y/N] ").strip().lower() in ("y", "yes")


def _refused(answer: dict) -> int:
    print(f"Refused ({answer['error']['code']}): {answer['error']['message']}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
