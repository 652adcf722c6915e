"""Management commands of qrauth."""
