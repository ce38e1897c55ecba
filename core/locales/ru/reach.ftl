# Кто недоступен (кнопка под предпросмотром мастера и под подробностями рассылки),
# CSV со ссылками-приглашениями и /reach. Значения от пользователей экранирует код.

reach-btn-unreachable = 🚫 Кто недоступен ({ $count })
reach-btn-invite = 📨 Ссылки-приглашения для них ({ $count })

unreachable-whose-broadcast = рассылка #{ $id }
unreachable-whose-draft = эта аудитория
unreachable-title = <b>Кто недоступен: { $whose }</b> · { $count ->
        [one] { $count } человек
        [few] { $count } человека
        [many] { $count } человек
       *[other] { $count } человека
    } · страница { $page } из { $pages }
unreachable-item = 🚫 { $name } · { $role } — { $reason }
unreachable-parent-of = ↳ родитель: { $children }
unreachable-no_telegram = Telegram не привязан
unreachable-blocked = заблокировал бота
unreachable-deactivated = аккаунт удалён
unreachable-empty = Никого: доступны все.
unreachable-not-linked = { $count ->
        [one] У { $count } из них не привязан Telegram: кнопка ниже пришлёт CSV с личной ссылкой-приглашением.
       *[other] У { $count } из них не привязан Telegram: кнопка ниже пришлёт CSV с их личными ссылками-приглашениями.
    }
reach-list-expired = Этот список устарел: откройте его снова из предпросмотра.
reach-invite-none = Сейчас здесь нет никого без Telegram: ссылки отправлять некому.
reach-invite-caption = Личные ссылки-приглашения для { $count ->
        [one] { $count } человека
       *[other] { $count } человек
    } без привязанного Telegram. Каждая ссылка действует один раз; присланные им раньше больше не работают.
csv-class = Класс
csv-invite-link = Ссылка-приглашение

# /reach: моноширинная таблица, числа в формате читателя.
reach-number = { $n }
reach-title = <b>Охват школы</b> · активных: { $total }, доступны: { $reachable }
reach-col-linked = есть
reach-col-blocked = блок
reach-col-deleted = удалён
reach-col-none = нет
reach-role-student = ученики
reach-role-teacher = учителя
reach-role-tutor = тьюторы
reach-role-parent = родители
reach-role-admin = админы
reach-all = все
reach-classes-title = <b>Ученики по классам</b>
reach-no-class = без класса
reach-legend = <i>есть</i>: Telegram привязан, доступен · <i>блок</i>: заблокировал бота · <i>удалён</i>: аккаунт Telegram удалён (считается отдельно от блокировки) · <i>нет</i>: Telegram не привязан
reach-not-linked = { $count ->
        [one] У { $count } человека не привязан Telegram: кнопка ниже пришлёт CSV с личной ссылкой-приглашением.
       *[other] У { $count } человек не привязан Telegram: кнопка ниже пришлёт CSV с их личными ссылками-приглашениями.
    }
