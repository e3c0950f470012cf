"""On PostgreSQL, audit entries cannot be changed or deleted, even through SQL.

The one update allowed is Django's SET_NULL of actor_user when a user account is deleted (the entry keeps
its actor_label). TRUNCATE, an owner-level operation, stays possible for test resets.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION knoxcall_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.actor_user_id IS NULL
       AND (to_jsonb(NEW) - 'actor_user_id') = (to_jsonb(OLD) - 'actor_user_id') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit entries are append-only';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER knoxcall_audit_append_only BEFORE UPDATE OR DELETE ON environments_auditentry
    FOR EACH ROW EXECUTE FUNCTION knoxcall_audit_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS knoxcall_audit_append_only ON environments_auditentry;
DROP FUNCTION IF EXISTS knoxcall_audit_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("environments", "0003_api_keys_and_clients")]
    operations = [migrations.RunPython(forwards, backwards)]
