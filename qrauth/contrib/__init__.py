"""Authenticators for the JSON API (AUTH_QR_CODE_API_AUTHENTICATORS), one
module per package they adapt; each imports its package only when used."""
