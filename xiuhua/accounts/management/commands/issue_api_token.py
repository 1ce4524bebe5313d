"""Issue an API token for one of a user's memberships; the key is printed once, only its hash kept.

    python manage.py issue_api_token staff_a1 --membership 4 --name "区大数据中心对接"

The key goes to standard output alone (so it can be piped into a secret store); everything
else goes to standard error.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from xiuhua.accounts.models import Membership, User
from xiuhua.accounts.roles import Cap
from xiuhua.accounts.tokens import api_token_issue


class Command(BaseCommand):
    help = "为用户的某个任职签发接口令牌;密钥只显示一次,库中只存其散列。"

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--membership", type=int,
            help="任职编号;用户只有一个可用接口的任职时可省略",
        )
        parser.add_argument("--name", required=True, help="令牌用途,例如对接的系统名称")

    def handle(self, *args, username: str, membership: int | None, name: str, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"用户 {username} 不存在")
        if not user.is_active:
            raise CommandError(f"用户 {username} 已停用")
        chosen = self._membership(user, membership)
        try:
            token, key = api_token_issue(membership=chosen, name=name)
        except ValidationError as exc:
            raise CommandError(" ".join(m for ms in exc.message_dict.values() for m in ms)) from None
        self.stderr.write(
            f"已为 {user.username}({chosen})签发令牌「{name}」,编号 {token.pk},前缀 {token.key_prefix}。"
            "密钥只显示这一次,请立即妥善保存:"
        )
        self.stdout.write(key)

    def _membership(self, user: User, membership_id: int | None) -> Membership:
        memberships = Membership.objects.filter(user=user).select_related("org_unit", "grid")
        if membership_id is None:
            usable = [m for m in memberships if m.has(Cap.USE_API)]
            if len(usable) != 1:
                listing = "; ".join(f"{m.pk}: {m}" for m in memberships) or "无"
                raise CommandError(f"请用 --membership 指定任职。{user.username} 的任职:{listing}")
            return usable[0]
        chosen = memberships.filter(pk=membership_id).first()
        if chosen is None:
            raise CommandError(f"任职 {membership_id} 不属于用户 {user.username}")
        if not chosen.active:
            raise CommandError(f"任职 {membership_id} 已失效")
        if not chosen.has(Cap.USE_API):
            raise CommandError(f"{chosen.get_role_display()} 角色不能使用接口")
        return chosen
