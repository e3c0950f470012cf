from django.db import migrations


class Migration(migrations.Migration):
    """AuditEntry and ConfigVersion now belong to core (same tables): forget them here, touch no table."""

    dependencies = [
        ("environments", "0005_api_key_expires_at"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="AuditEntry"),
                migrations.DeleteModel(name="ConfigVersion"),
            ]
        )
    ]
