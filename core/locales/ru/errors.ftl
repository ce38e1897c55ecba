# Отказы (services.errors.DomainError), которые handlers/errors.py превращает в ответы.

error-broadcast-not-found = Рассылка { $id } не найдена
error-content-too-long = Сообщение слишком длинное: { $length } при пределе { $limit } символов.
error-no-recipients = Не найдено получателей для группы «{ $group }»
error-time-unparseable = Не удалось понять «{ $text }» как дату и время. Используйте один из форматов: { $examples }
error-time-past = { $time } ({ $tz }) уже прошло; выберите время в будущем.
error-time-nonexistent = Времени { $time } в поясе { $tz } не существует (в этот момент переводят часы); выберите другое.
error-retry-limit = Рассылку #{ $id } уже повторяли { $rounds } { $rounds ->
    [one] раз
    [few] раза
   *[many] раз
}; больше нельзя (предел { $limit }).
confirm-changed = Рассылка #{ $id } изменилась, пока вы отвечали: теперь она в статусе «{ $status }», а не «{ $was }».
cannot-retarget = Рассылка #{ $id } в статусе «{ $status }»: получателей можно менять только у черновика или запланированной.
cannot-add-recipients = Рассылка #{ $id } в статусе «{ $status }»: добавлять получателей уже нельзя.
cannot-deliver = Рассылка #{ $id } в статусе «{ $status }»: отправляется только рассылка в статусе «Отправляется».
