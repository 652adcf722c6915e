from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

DEMO_PASSWORD = "qrauth-demo"


class Command(BaseCommand):
    help = "Create (or reset) the demo users alice (staff: the admin) and bob."

    def handle(self, *args, **options):
        User = get_user_model()
        for name in ("alice", "bob"):
            user, _ = User.objects.get_or_create(username=name)
            user.set_password(DEMO_PASSWORD)
            # alice reads the recorded sign-ins in the admin (/admin/).
            user.is_staff = user.is_superuser = name == "alice"
            user.save()
        self.stdout.write(f"Demo users: alice (staff), bob (password: {DEMO_PASSWORD})")
