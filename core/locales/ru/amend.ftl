## Исправление и удаление отправленной рассылки у всех, и её история.

details-btn-edit = ✏️ Исправить у всех
details-btn-delete = 🗑 Удалить у всех

edit-ask-text = Пришлите исправленный текст рассылки #{ $id } с оформлением. Он заменит текст { $count ->
        [one] { $count } доставленного сообщения
       *[other] { $count } доставленных сообщений
    }.
edit-ask-caption = Пришлите исправленную подпись рассылки #{ $id } с оформлением. Она заменит подпись { $count ->
        [one] { $count } доставленного сообщения
       *[other] { $count } доставленных сообщений
    }.
edit-pending = { $count ->
        [one] { $count } получатель, который ещё ждёт, получит исправленный текст.
        [few] { $count } получателя, которые ещё ждут, получат исправленный текст.
       *[many] { $count } получателей, которые ещё ждут, получат исправленный текст.
    }
edit-text-wanted = Пришлите исправленный текст сообщением (текстом или подписью к медиа).
edit-btn-abort = ✖ Не исправлять
edit-confirm = Исправить рассылку #{ $id } у всех на текст выше? { $count ->
        [one] Изменится { $count } доставленное сообщение.
        [few] Изменятся { $count } доставленных сообщения.
       *[many] Изменятся { $count } доставленных сообщений.
    }
edit-btn-yes = Да, исправить
edit-btn-no = Нет
edit-kept = Рассылка #{ $id } не исправлена.
edit-stale = Это исправление уже не открыто: нажмите «✏️ Исправить у всех» ещё раз.
edit-started = Рассылка #{ $id } исправляется в { $count ->
        [one] { $count } чате
       *[other] { $count } чатах
    }.

delete-confirm = Удалить рассылку #{ $id } у всех? { $count ->
        [one] Будет удалено { $count } доставленное сообщение.
        [few] Будут удалены { $count } доставленных сообщения.
       *[many] Будут удалены { $count } доставленных сообщений.
    }
delete-too-old = { $count ->
        [one] { $count } сообщение старше 48 часов: Telegram уже не даёт боту его удалить.
        [few] { $count } сообщения старше 48 часов: Telegram уже не даёт боту их удалить.
       *[many] { $count } сообщений старше 48 часов: Telegram уже не даёт боту их удалить.
    }
delete-pending = Сначала отправка остановится: { $count ->
        [one] { $count } получатель, который ещё ждёт, её не получит.
        [few] { $count } получателя, которые ещё ждут, её не получат.
       *[many] { $count } получателей, которые ещё ждут, её не получат.
    }
delete-btn-yes = Да, удалить
delete-btn-no = Нет
delete-kept = Рассылка #{ $id } не удалена.
delete-started = Рассылка #{ $id } удаляется в { $count ->
        [one] { $count } чате
       *[other] { $count } чатах
    }.

cannot-edit = Рассылка #{ $id } в статусе «{ $status }»: исправить можно только отправляемую или отправленную.
cannot-delete = Рассылка #{ $id } в статусе «{ $status }»: удалить можно только отправляемую или отправленную.
error-nothing-delivered = Рассылка #{ $id } никому не доставлена: менять нечего.
error-nothing-deletable = Рассылку #{ $id } нельзя удалить: все её сообщения ({ $count }) старше 48 часов.
error-run-in-progress = Рассылка #{ $id } сейчас { $kind ->
        [edit] исправляется
       *[delete] удаляется
    } (#{ $run }): дождитесь окончания.
error-already-deleted = Рассылка #{ $id } удалена у всех { $time }.


history-title = <b>История</b>
history-created = { $time } · создал(а) { $who }
history-scheduled = { $time } · запланировал(а) { $who }
history-sent = { $time } · отправку начал(а) { $who }
history-edited = { $time } · исправил(а) { $who }; было: { $previous }
history-deleted = { $time } · удалил(а) у всех { $who }
history-reminded = { $time } · напоминание отправил(а) { $who }
history-cancelled = { $time } · отменил(а) { $who }
history-nobody = бот
history-more = … и ещё { $count } раньше

csv-edited-at = Исправлено ({ $tz })
csv-deleted-at = Удалено ({ $tz })
csv-amend-error = Ошибка исправления или удаления
csv-history-at = Когда ({ $tz })
csv-history-who = Кто
csv-history-what = Что
csv-history-previous = Текст до исправления
csv-history-created = создана
csv-history-scheduled = запланирована
csv-history-sent = начата отправка
csv-history-edited = исправлена у всех
csv-history-deleted = удалена у всех
csv-history-reminded = отправлено напоминание
csv-history-cancelled = отменена
export-history-caption = История рассылки #{ $id }: { $count } { $count ->
        [one] событие
        [few] события
       *[many] событий
    }.
