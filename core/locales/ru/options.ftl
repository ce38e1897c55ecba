# Параметры доставки рассылки (шаг мастера, предпросмотр и подробности) и подтверждения
# прочтения: кнопка под доставленным сообщением, ответ на нажатие и счётчик для админов.

compose-step-options =
    <b>Новая рассылка</b> · { compose-step-number }
    Как доставить сообщение? Нажмите на параметр, чтобы включить или выключить его, затем продолжите.
    Срочное уходит сразу и со звуком, даже в тихие часы: включение срочного выключает «Без звука», и наоборот.
compose-option-ask_confirmation = { $ask_confirmation ->
        [on] ✅
       *[off] ⬜
    } Просить подтвердить прочтение
compose-option-silent = { $silent ->
        [on] ✅
       *[off] ⬜
    } Без звука
compose-option-protected = { $protected ->
        [on] ✅
       *[off] ⬜
    } Защищённое: нельзя переслать или сохранить
compose-option-urgent = { $urgent ->
        [on] ✅
       *[off] ⬜
    } Срочное: сразу, со звуком, даже в тихие часы
compose-preview-options = Параметры: { $options }
details-options = Параметры: { $options }
option-ask_confirmation = с подтверждением прочтения
option-silent = без звука
option-protected = защищённое
option-urgent = срочное

# Тихие часы (QUIET_HOURS): несрочная рассылка ждёт их окончания.
quiet-starts = 🌙 Сейчас тихие часы: рассылка начнётся в { $time }.
quiet-scheduled = 🌙 Это время попадает в тихие часы: рассылка начнётся в { $time }.

read-btn = ✅ Ознакомлен(а)
read-btn-confirmed = ✅ Подтверждено { $time }
read-thanks = Спасибо, подтверждение записано.
read-already = Вы уже подтвердили в { $time }.
read-done = Ваше подтверждение записано.
read-refused = Подтвердить прочтение может только тот, кому отправлено это сообщение.
read-count = Подтвердили прочтение: { $confirmed } из { $delivered } { $delivered ->
        [one] получившего
       *[other] получивших
    } ({ $percent })
