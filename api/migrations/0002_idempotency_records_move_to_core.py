from django.db import migrations


class Migration(migrations.Migration):
    """IdempotencyRecord now belongs to core (same table): forget it here, touch no table."""

    dependencies = [
        ("api", "0001_idempotency_records"),
        ("core", "0002_idempotencyrecord"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="IdempotencyRecord")])
    ]
