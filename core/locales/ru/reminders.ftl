# Напоминания тем, кто не подтвердил прочтение: само напоминание (на языке получателя),
# кнопка и вопрос в подробностях, автоматическое напоминание на шаге параметров и отказы.

reminder-text = 🔔 Напоминание: пожалуйста, подтвердите, что прочитали это сообщение.

details-btn-remind = 🔔 Напомнить не подтвердившим ({ $count }) · осталось { $left } из { $limit }
details-btn-remind-none-left = 🔔 Напоминаний не осталось (отправлено { $limit } из { $limit })
remind-confirm = Рассылка #{ $id }: напомнить { $count } { $count ->
        [one] получателю, который не подтвердил
       *[other] получателям, которые не подтвердили
    } прочтение?
remind-btn-yes = Да, напомнить
remind-btn-no = Нет, не сейчас
remind-kept = Напоминание по рассылке #{ $id } не отправлено.
remind-started = Напоминание по рассылке #{ $id } запущено: { $count } { $count ->
        [one] получатель
        [few] получателя
       *[other] получателей
    }.

reminders-line = Напоминания: { $counted } из { $limit } — { $runs }
reminders-run = { $time } (доставлено { $sent })
reminders-run-sending = { $time } (отправляется: { $sent } из { $total })
reminders-next-automatic = следующее автоматическое в { $time }

auto-remind-never = никогда
auto-remind-after = через { $hours } ч
compose-option-auto_remind = 🔔 Напоминание: { $auto_remind }
compose-preview-auto-remind = Автоматическое напоминание: { $auto_remind }
details-auto-remind = Автоматическое напоминание: { $when }

csv-reminders = Отправлено напоминаний
delivery-error-not_needed = подтвердил(а) до напоминания

cannot-remind = Рассылка #{ $id } в статусе «{ $status }»: напомнить можно только об отправленной рассылке.
error-reminder-limit = По рассылке #{ $id } уже { $sent } { $sent ->
        [one] напоминание
        [few] напоминания
       *[other] напоминаний
    }; это предел ({ $limit }).
error-reminder-in-progress = Рассылка #{ $id }: напоминание #{ $reminder } ещё отправляется. Дождитесь, пока оно закончится.
error-reminded-meanwhile = По рассылке #{ $id } уже отправлено ещё одно напоминание (теперь их { $sent }). Откройте подробности.
error-nobody-to-remind = Рассылка #{ $id }: все получившие подтвердили прочтение, напоминать некому.
