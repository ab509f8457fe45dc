"""QR code images (PNG via pypng, SVG), drawn by the `qrcode` library."""
import io
import urllib.parse

import qrcode
from qrcode.image.pure import PyPNGImage
from qrcode.image.svg import SvgPathImage
from werkzeug.wrappers import Response

FORMATS = {"png": (PyPNGImage, "image/png"), "svg": (SvgPathImage, "image/svg+xml")}


def scan_url(base, token):
    """The member page's scan URL that a QR code carries."""
    return f"{base}?{urllib.parse.urlencode({'t': token})}"


def qr_response(content, fmt):
    factory, mimetype = FORMATS[fmt]
    buffer = io.BytesIO()
    qrcode.make(content, image_factory=factory, box_size=10, border=4).save(buffer)
    return Response(buffer.getvalue(), status=200, mimetype=mimetype,
                    headers={"Cache-Control": "private, max-age=60"})
