from django.db import migrations


def create_production(apps, schema_editor):
    Environment = apps.get_model("environments", "Environment")
    ConfigVersion = apps.get_model("environments", "ConfigVersion")
    if not Environment.objects.filter(is_default=True).exists():
        Environment.objects.update_or_create(
            name="production",
            defaults={
                "display_name": "Production",
                "description": "Live customer-facing system.",
                "color": "#dc2626",
                "is_default": True,
                "is_protected": True,
            },
        )
    ConfigVersion.objects.get_or_create(pk=1, defaults={"version": 1})


class Migration(migrations.Migration):
    dependencies = [("environments", "0001_initial")]
    operations = [migrations.RunPython(create_production, migrations.RunPython.noop)]
