"""Management commands of qrauth: ``qrauth_status``."""
