"""django-qrauth: sign in across devices with a QR code."""

__version__ = "0.2.0.dev0"
