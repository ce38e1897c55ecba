# Наблюдение и исправление: /progress /retry /cancel /broadcasts /broadcast /recipients /stats,
# живое сообщение о ходе рассылки и меню команд. Значения от пользователей экранирует код.

command-start = Запустить бота
command-help = Что я умею
command-new = Создать рассылку
command-broadcasts = Список рассылок: [статус] или search СЛОВА
command-broadcast = Подробности рассылки: ID
command-progress = Ход рассылки: [ID]
command-retry = Повторить отправку неудачным: [ID]
command-cancel = Отменить рассылку: [ID]
command-recipients = Получатели: ID [sent|failed|pending|unconfirmed]
command-stats = Статистика всех рассылок
command-reach = Кто доступен, по ролям и классам

status-draft = Черновик
status-scheduled = Запланирована
status-sending = Отправляется
status-sent = Отправлена
status-completed = Завершена с ошибками
status-failed = Ошибка
status-cancelled = Отменена
# Короткие названия статусов для кнопок фильтра /broadcasts (чтобы помещались на телефоне).
status-short-draft = Черновики
status-short-scheduled = Заплан.
status-short-sending = Идут
status-short-sent = Отправлены
status-short-completed = С ошибками
status-short-failed = Ошибка
status-short-cancelled = Отменены

recipient-status-pending = Ожидают
recipient-status-sent = Доставлено
recipient-status-failed = Не доставлено

delivery-error-blocked = бот заблокирован пользователем
delivery-error-deactivated = аккаунт удалён
delivery-error-cant_initiate = пользователь не запускал бота
delivery-error-chat_not_found = чат не найден
delivery-error-server_error = ошибка сервера Telegram
delivery-error-network = ошибка сети
delivery-error-timeout = превышено время ожидания
delivery-error-unauthorized = токен бота отозван
delivery-error-message_gone = сообщение удалено получателем
delivery-error-too_old = слишком старое для удаления (старше 48 часов)
delivery-error-other = другая ошибка

progress-title = { $icon } <b>Рассылка #{ $id }</b> · { $status }
progress-title-reminder = { $icon } <b>Напоминание к рассылке #{ $id }</b> · { $status }
progress-title-edit = { $icon } <b>Исправление рассылки #{ $id }</b> · { $status }
progress-title-delete = { $icon } <b>Удаление рассылки #{ $id }</b> · { $status }
progress-counts = Доставлено: { $sent } · Ошибок: { $failed } · Ожидают: { $pending } (из { $total })
progress-rate = Скорость: { $rate } сообщ./с · Осталось: { $eta }
progress-paused = ⏸ Пауза: база данных недоступна, повторяем попытки
progress-quiet-paused = ⏸ Пауза на тихие часы до { $time }
progress-quiet-start = 🌙 Начнётся в { $time } (тихие часы)
progress-retry-wait = ⏳ Ждут повторной попытки: { $count } { $count ->
        [one] получатель
        [few] получателя
       *[other] получателей
    }, следующая в { $time }
progress-took = Заняла { $duration }
progress-errors = Ошибки: { $failed } не доставлено: { $details }
progress-times = Создана: { $created } · Начата: { $started } · Завершена: { $finished }
progress-btn-refresh = 🔄 Обновить
progress-btn-cancel = ✖ Отменить
progress-btn-retry = 🔁 Повторить неудачные ({ $count })
progress-btn-details = 📋 Подробнее

usage-progress = Использование: /progress [ID] (без ID — ваша последняя рассылка)
usage-retry = Использование: /retry [ID] (без ID — ваша последняя рассылка)
usage-cancel = Использование: /cancel [ID] (без ID — ваша последняя рассылка)
usage-broadcasts = Использование: /broadcasts [{ $statuses }] или /broadcasts search СЛОВА
usage-broadcast = Использование: /broadcast ID
usage-recipients = Использование: /recipients ID [sent|failed|pending|unconfirmed]
no-broadcasts-yet = У вас пока нет рассылок. Создайте рассылку командой /new или укажите ID рассылки (все они — в /broadcasts).
cannot-cancel = Рассылка #{ $id } в статусе «{ $status }»: отменять нечего.
cannot-retry = Рассылка #{ $id } в статусе «{ $status }»: повторять нечего.
cannot-reschedule = Рассылка #{ $id } в статусе «{ $status }»: перенести можно только запланированную.
cannot-send = Рассылка #{ $id } в статусе «{ $status }»: отправить сейчас можно только черновик или запланированную.
cannot-schedule = Рассылка #{ $id } в статусе «{ $status }»: запланировать можно только черновик.

cancel-confirm = { $state ->
        [draft] Отменить черновик #{ $id }? Он не будет отправлен.
        [scheduled] Отменить запланированную рассылку #{ $id }? Она не будет отправлена.
       *[other] Отменить рассылку #{ $id } ({ $status })? Кто ещё не получил сообщение, его не получит.
    }
cancel-btn-yes = Да, отменить
cancel-btn-no = Нет, оставить
cancel-done-draft = Черновик #{ $id } отменён: он не будет отправлен.
cancel-done-scheduled = Запланированная рассылка #{ $id } отменена: она не будет отправлена.
# $stopped — получатели, которые ещё ждали сообщения и теперь его не получат.
cancel-done-sending = Рассылка #{ $id } отменена{ $stopped ->
        [0] .
        [one] : { $stopped } получатель её не получит.
        [few] : { $stopped } получателя её не получат.
       *[other] : { $stopped } получателей её не получат.
    }
cancel-done-unsettled = Рассылка #{ $id } отменена. Часть сообщений была ещё в пути, поэтому её не получат не более { $stopped } { $stopped ->
        [one] получателя
       *[other] получателей
    }; точное число покажет сообщение о ходе рассылки.
cancel-too-late = Уже поздно для { $count } { $count ->
        [one] получателя
       *[other] получателей
    }: сообщение доставлено.
cancel-failed = Не доставлено: { $count }.
cancel-kept = Рассылка #{ $id } не отменена.
cancel-confirm-run = { $kind ->
        [reminder] Остановить напоминание к рассылке #{ $id }? Кто его ещё не получил, не получит.
        [edit] Остановить исправление рассылки #{ $id }? Ещё не исправленные сообщения останутся с прежним текстом.
       *[delete] Остановить удаление рассылки #{ $id }? Ещё не удалённые сообщения останутся в чатах.
    }
cancel-done-run = { $kind ->
        [reminder] Напоминание к рассылке #{ $id } остановлено
        [edit] Исправление рассылки #{ $id } остановлено
       *[delete] Удаление рассылки #{ $id } остановлено
    }{ $stopped ->
        [0] .
       *[other] { $settled ->
            [yes] : осталось как было — { $stopped }.
           *[no] : осталось как было — не более { $stopped }; итог покажет сообщение о ходе.
        }
    }
cancel-kept-run = { $kind ->
        [reminder] Напоминание к рассылке #{ $id } продолжается.
        [edit] Исправление рассылки #{ $id } продолжается.
       *[delete] Удаление рассылки #{ $id } продолжается.
    }

retry-started = Повторная отправка запущена для { $count } { $count ->
        [one] получателя
       *[other] получателей
    } (рассылка #{ $id }).
retry-nothing = В рассылке #{ $id } нет неудачных отправок, которые стоит повторить (заблокировавшим бота и удалённым аккаунтам не повторяем).
retry-confirm = Рассылка #{ $id }: отправить ещё раз { $count } { $count ->
        [one] получателю
       *[other] получателям
    }?
retry-btn-yes = Да, отправить ещё раз
retry-btn-no = Нет, не сейчас
retry-kept = Рассылка #{ $id } не отправлена повторно, ничего не изменилось.
run-name = { $kind ->
        [reminder] Напоминание к рассылке #{ $id }
        [edit] Исправление рассылки #{ $id }
       *[delete] Удаление рассылки #{ $id }
    }
retry-confirm-run = { $what }: повторить для { $count } { $count ->
        [one] получателя
       *[other] получателей
    }?
retry-started-run = Повтор запущен для { $count } { $count ->
        [one] получателя
       *[other] получателей
    } ({ $what }).
retry-kept-run = { $what }: ничего не повторено.

list-title = <b>Рассылки</b> · { $filter } · найдено: { $count } · страница { $page } из { $pages }
list-search = Поиск: «{ $query }»
list-filter-all = Все
list-empty = Подходящих рассылок нет.
list-item = { $icon } <b>#{ $id }</b> · { $status } · { $when } · { $audience } · { $count }
list-when-scheduled = на { $time }
list-count-sent = доставлено { $sent } из { $total }
list-count-reach = сейчас доступно: { $count }
list-search-expired = Этот поиск устарел. Отправьте /broadcasts search СЛОВА ещё раз.
list-btn-prev = ‹ Назад
list-btn-next = Вперёд ›

details-title = { $icon } <b>Рассылка #{ $id }</b> · { $status }
details-audience = Получатели: { $audience }
details-filter-subject = предмет #{ $id }
details-filter-tutor = тьютор #{ $id }
details-filter-teacher = учитель #{ $id }
# Who of a group of students receive it, after the group: "By class (5B) · родители".
details-who-parents = родители
details-who-both = ученики и родители
details-filter-custom = { $count } { $count ->
        [one] пользователь
        [few] пользователя
       *[other] пользователей
    }
details-author = Создал(а) { $name }, { $created }
details-author-unknown = Создана { $created }
details-scheduled = Запланирована на { $time } ({ $tz })
details-times = Начата: { $started } · Завершена: { $finished }
details-cancelled = Отменена: { $time }
details-counts = Получателей: { $total } · доставлено { $sent } · ошибок { $failed } · ожидают { $pending }
details-reach = Ещё не отправлена; сейчас её { $count ->
        [one] получит { $count } человек
        [few] получат { $count } человека
       *[other] получат { $count } человек
    }.
details-content-text = Сообщение:
details-content-media = Сообщение ({ $kind }), подпись:
content-kind-photo = фото
content-kind-video = видео
content-kind-document = документ
content-kind-animation = анимация
details-btn-progress = 📊 Ход рассылки
details-btn-recipients = 👥 Получатели
details-btn-retry = 🔁 Повторить неудачные ({ $count })
details-btn-cancel = ✖ Отменить
details-btn-reschedule = 🕒 Перенести
details-btn-send = 🚀 Отправить сейчас
details-btn-schedule = 🕒 Запланировать

send-confirm = Отправить рассылку #{ $id } ({ $status }) сейчас?
    Получатели: { $audience }
    Получат сообщение: { $count }.
send-btn-yes = Да, отправить сейчас
send-btn-no = Нет, не сейчас
send-started = Рассылка #{ $id } отправляется, получателей: { $count }.
send-kept = Рассылка #{ $id } не отправлена, ничего не изменилось.

recipients-title = <b>Получатели #{ $id }</b> · { $filter } · найдено: { $count } · страница { $page } из { $pages }
recipients-filter-all = Все
recipients-empty = Никого нет.
recipients-item-sent = ✅ { $name } · { $time }
recipients-item-pending = ⏳ { $name }
recipients-item-failed = ❌ { $name } · { $error }

reschedule-ask = Отправьте новое время для рассылки #{ $id } ({ $tz }), например: { $examples }
reschedule-done = Рассылка #{ $id } теперь уйдёт { $time } ({ $tz }).
reschedule-aborted = Время рассылки #{ $id } не изменилось.
reschedule-btn-abort = ✖ Оставить прежнее время

schedule-ask = Отправьте время для рассылки #{ $id } ({ $tz }), например: { $examples }
schedule-done = Рассылка #{ $id } запланирована на { $time } ({ $tz }).
schedule-aborted = Рассылка #{ $id } остаётся черновиком.
schedule-btn-abort = ✖ Оставить черновиком

stats-title = <b>Статистика</b>
stats-broadcasts = Рассылок: { $total }
stats-status-line = { $icon } { $status }: { $count }
stats-recipients = Получателей: { $total } · не доставлено: { $failed } ({ $rate } %)
stats-processing = Среднее время отправки: { $duration } (завершённых рассылок: { $count })
stats-processing-none = Среднее время отправки: — (завершённых рассылок пока нет)
