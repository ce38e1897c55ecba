# Отказы (services.errors.DomainError), которые handlers/errors.py превращает в ответы.

error-broadcast-not-found = Рассылка { $id } не найдена
error-content-too-long = Сообщение слишком длинное: { $length } при пределе { $limit } символов.
error-no-recipients = Не найдено получателей для группы «{ $group }»
error-time-unparseable = Не удалось понять «{ $text }» как дату и время. Используйте один из форматов: { $examples }
error-time-past = { $time } ({ $tz }) уже прошло; выберите время в будущем.
error-time-nonexistent = Времени { $time } в поясе { $tz } не существует (в этот момент переводят часы); выберите другое.
