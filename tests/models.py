"""Custom user models the suite signs in with: UUID and string keys."""

import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models


class EmailUserManager(BaseUserManager):
    def create_user(self, email, password=None):
        user = self.model(email=self.normalize_email(email))
        user.set_password(password)
        user.save(using=self._db)
        return user


class EmailUser(AbstractBaseUser):
    """Email as the username field, a UUID as the primary key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    is_active = models.BooleanField(default=True)

    USERNAME_FIELD = "email"
    objects = EmailUserManager()


class CodeNameUserManager(BaseUserManager):
    def create_user(self, code_name, password=None, email=""):
        user = self.model(code_name=code_name, email=email)
        user.set_password(password)
        user.save(using=self._db)
        return user


class CodeNameUser(AbstractBaseUser):
    """A string as the primary key: the code name is the key."""

    code_name = models.CharField(primary_key=True, max_length=40)
    email = models.EmailField(blank=True)
    is_active = models.BooleanField(default=True)

    USERNAME_FIELD = "code_name"
    objects = CodeNameUserManager()
