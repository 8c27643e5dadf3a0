"""``manage.py loadpolicies [PATH ...]``: validate city policy files and store them.

Default: every ``*.toml`` in portal/policies/.  For each file, in one transaction:

* validate it (any error → nothing is written for that file);
* create or update the City and its Districts from ``[city]`` / ``[jurisdiction]``;
* store a PolicyVersion — unless the same version with the same sha256 is already there (no-op).
  The same version with different content is refused: stored versions are the record of which
  rules a decision was taken under, so a changed file must carry a new ``document.version``.

Districts that disappear from a file are kept (organisations and applications point at them);
a district that really ceased to exist is retired by the bureau in the admin.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.policies import PolicyError, bundled_policy_files
from portal.policies.schema import load_policy_file_with_data, to_json_data


class Command(BaseCommand):
    help = "校验并载入城市政策文件（默认 portal/policies/*.toml），写入城市、县区/镇街和政策版本。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="*", metavar="PATH", help="政策文件路径（.toml）；不写则载入全部内置文件")

    def handle(self, *args: Any, **options: Any) -> None:
        paths = [Path(p) for p in options["paths"]] or bundled_policy_files()
        if not paths:
            raise CommandError(_("没有找到政策文件"))
        verbosity = int(options.get("verbosity", 1))
        failures: list[str] = []
        for path in paths:
            try:
                line = self.load_one(path)
            except (PolicyError, CommandError) as exc:
                # Keep going: one bad file must not stop the others from loading, but the
                # command still fails so that a deploy script notices.
                failures.append(str(exc))
                self.stderr.write(self.style.ERROR(str(exc)))
                continue
            if verbosity >= 1:
                self.stdout.write(line)
        if failures:
            raise CommandError(
                _("%(n)d 个政策文件未载入：\n%(errors)s") % {"n": len(failures), "errors": "\n".join(failures)}
            )

    def load_one(self, path: Path) -> str:
        from portal.models.geo import City, District
        from portal.models.policy import PolicyVersion

        policy, data = load_policy_file_with_data(path)
        with transaction.atomic():
            existing = (
                PolicyVersion.objects.select_for_update()
                .filter(city__code=policy.code, version=policy.version)
                .first()
            )
            if existing is not None:
                if existing.sha256 == policy.sha256:
                    return _("%(file)s：%(city)s 政策版本 %(version)s 已载入，内容未变，跳过") % {
                        "file": path.name,
                        "city": policy.city_name,
                        "version": policy.version,
                    }
                raise CommandError(
                    _(
                        "%(file)s: document.version: 版本 %(version)s 已于 %(at)s 载入且内容不同"
                        "（已载入 sha256 %(old)s…，本文件 %(new)s…）；修改政策文件后必须提高 version"
                    )
                    % {
                        "file": path.name,
                        "version": policy.version,
                        "at": existing.loaded_at.strftime("%Y-%m-%d %H:%M"),
                        "old": existing.sha256[:12],
                        "new": policy.sha256[:12],
                    }
                )

            city, _created = City.objects.update_or_create(
                code=policy.code,
                defaults={"name": policy.city_name, "bureau_name": policy.bureau_name, "is_active": True},
            )
            for district in policy.jurisdiction.districts:
                District.objects.update_or_create(
                    city=city, code=district.code, defaults={"name": district.name, "kind": district.kind}
                )
            PolicyVersion.objects.create(
                city=city,
                version=policy.version,
                title=policy.title,
                document_number=policy.document_number,
                effective_from=policy.effective_from,
                effective_until=policy.effective_until,
                data=to_json_data(data),
                source_name=path.name,
                sha256=policy.sha256,
            )
        until = policy.effective_until.isoformat() if policy.effective_until else _("长期")
        line = _(
            "%(file)s：已载入 %(city)s 政策版本 %(version)s（%(title)s），有效期 %(from)s 至 %(until)s，"
            "%(level)s %(n)d 个"
        ) % {
            "file": path.name,
            "city": policy.city_name,
            "version": policy.version,
            "title": policy.title,
            "from": policy.effective_from.isoformat(),
            "until": until,
            "level": policy.jurisdiction.level_label,
            "n": len(policy.jurisdiction.districts),
        }
        if not policy.is_in_force(timezone.localdate()):
            # Loading an expired (or future) version is legitimate — studios set up under it are
            # still managed by it — but the operator should know no new round can open under it.
            line += _("；今天不在有效期内，不能依此开启新的申报批次")
        return line
