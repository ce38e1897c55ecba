# Who cannot be reached (the button under the wizard's preview and under a broadcast's
# details), the invite links CSV and /reach. Values from users are escaped by the code.

reach-btn-unreachable = 🚫 Who can't be reached ({ $count })
reach-btn-invite = 📨 Invite links for these ({ $count })

unreachable-whose-broadcast = broadcast #{ $id }
unreachable-whose-draft = this audience
unreachable-title = <b>Who can't be reached: { $whose }</b> · { $count ->
        [one] { $count } person
       *[other] { $count } people
    } · page { $page } of { $pages }
unreachable-item = 🚫 { $name } · { $role } — { $reason }
unreachable-parent-of = ↳ parent of { $children }
unreachable-no_telegram = no Telegram linked
unreachable-blocked = blocked the bot
unreachable-deactivated = account deleted
unreachable-empty = Nobody: everyone in it can be reached.
unreachable-not-linked = { $count ->
        [one] { $count } of them has no Telegram linked: the button below sends a CSV with a personal invite link.
       *[other] { $count } of them have no Telegram linked: the button below sends a CSV with their personal invite links.
    }
reach-list-expired = This list is out of date: open it again from the preview.
reach-invite-none = Nobody here is without Telegram now: there are no links to send.
reach-invite-caption = { $count ->
        [one] A personal invite link for { $count } person
       *[other] Personal invite links for { $count } people
    } with no Telegram linked. Each link works once; links they were sent before no longer work.
csv-class = Class
csv-invite-link = Invite link

# /reach: a monospace table, numbers in the reader's format.
reach-number = { $n }
reach-title = <b>Reach of the school</b> · { $total ->
        [one] { $total } active person
       *[other] { $total } active people
    }, { $reachable } can be reached
reach-col-linked = linked
reach-col-blocked = blocked
reach-col-deleted = deleted
reach-col-none = none
reach-role-student = students
reach-role-teacher = teachers
reach-role-tutor = tutors
reach-role-parent = parents
reach-role-admin = admins
reach-all = everyone
reach-classes-title = <b>Students by class</b>
reach-no-class = no class
reach-legend = <i>linked</i>: Telegram linked and reachable · <i>blocked</i>: blocked the bot · <i>deleted</i>: Telegram account deleted (counted apart from blocked) · <i>none</i>: no Telegram linked
reach-not-linked = { $count ->
        [one] { $count } person has no Telegram linked: the button below sends a CSV with a personal invite link.
       *[other] { $count } people have no Telegram linked: the button below sends a CSV with their personal invite links.
    }
