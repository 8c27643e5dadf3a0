from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from portal import audit, crypto


def encrypted_columns() -> list[tuple[str, str, str]]:
    """(table, pk column, column) for every EncryptedTextField in every installed app."""
    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, (crypto.EncryptedTextField, crypto.EncryptedBinaryField)):
                found.append((model._meta.db_table, model._meta.pk.column, field.column))
    return found


class Command(BaseCommand):
    help = ("用 PII_ENCRYPTION_KEYS 中的第一个密钥重新加密全部个人信息。轮换密钥：把新密钥放在最前，"
            "运行本命令，确认无误后再移除旧密钥。")

    def handle(self, *args: Any, **options: Any) -> None:
        crypto.reset_keys()
        total = 0
        qn = connection.ops.quote_name
        for table, pk, column in encrypted_columns():
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"SELECT {qn(pk)}, {qn(column)} FROM {qn(table)} WHERE {qn(column)} IS NOT NULL")
                rows = []
                for row_id, token in cursor.fetchall():
                    if isinstance(token, str) and token.startswith(crypto.PREFIX):
                        rows.append((crypto.rotate(token), row_id))
                    elif isinstance(token, (bytes, memoryview)) and bytes(token).startswith(crypto.PREFIX.encode()):
                        rows.append((crypto.rotate(bytes(token).decode()).encode(), row_id))
                for new_token, row_id in rows:
                    cursor.execute(f"UPDATE {qn(table)} SET {qn(column)} = %s WHERE {qn(pk)} = %s",
                                   [new_token, row_id])
                total += len(rows)
            self.stdout.write(f"{table}.{column}: {len(rows)} 条")
        fingerprint = crypto.key_fingerprint(crypto.settings.PII_ENCRYPTION_KEYS[0])
        audit.record(None, "pii.rotate_keys", data={"values": total, "key": fingerprint})
        self.stdout.write(self.style.SUCCESS(f"已重新加密 {total} 个字段值。"))
