# Мастер создания рассылки (/new). Значения, подставляемые в сообщения, экранирует код.

target-all_students = Все ученики
target-all_teachers = Все учителя
target-all_tutors = Все тьюторы
target-all_parents = Все родители
target-by_class = По классу
target-by_subject = По предмету
target-by_tutor = По тьютору
target-by_teacher = По учителю
target-custom = Выбранные пользователи

compose-new-broadcast = 📝 Новая рассылка
compose-btn-back = « Назад
compose-btn-cancel = ✖ Отмена
compose-btn-keep-audience = Оставить текущих получателей »
compose-btn-keep-content = Оставить текущее сообщение »
compose-btn-prev = ‹ Назад
compose-btn-next = Дальше ›
compose-btn-show-all = Показать все
compose-btn-continue = Продолжить »
compose-btn-send = ✅ Отправить сейчас
compose-btn-schedule = 🕒 Запланировать
compose-btn-draft = 💾 Сохранить черновик
compose-btn-edit-content = ✏️ Изменить сообщение
compose-btn-edit-audience = 👥 Изменить получателей
compose-btn-in-hour = Через 1 час
compose-btn-tomorrow-morning = Завтра в 09:00

# Номер шага по пути, который проходит админ (4 шага для «Все учителя», на один больше,
# если выбирают класс, предмет, человека или список, и ещё один — вопрос «кому» для групп
# учеников); пока получатели не выбраны, всего шагов не пишем.
compose-step-number = { $steps ->
        [0] шаг { $step }
       *[other] шаг { $step } из { $steps }
    }
compose-step-audience =
    <b>Новая рассылка</b> · { compose-step-number }
    Кому отправить?
compose-step-pick-by_class =
    <b>Новая рассылка</b> · { compose-step-number }
    Выберите класс: затем решите, кто получит рассылку — ученики, их родители или все вместе.
compose-step-pick-by_subject =
    <b>Новая рассылка</b> · { compose-step-number }
    Выберите предмет: рассылку получат его учителя, а затем решите, кто ещё — ученики, их родители или все вместе.
compose-step-pick-by_tutor =
    <b>Новая рассылка</b> · { compose-step-number }
    Выберите тьютора: затем решите, кто получит рассылку — его ученики, их родители или все вместе.
compose-step-pick-by_teacher =
    <b>Новая рассылка</b> · { compose-step-number }
    Выберите учителя: затем решите, кто получит рассылку — его ученики, их родители или все вместе.
compose-pick-search-hint = { $narrowing ->
        [by_class] Напишите часть названия, чтобы найти класс (регистр не важен).
        [by_subject] Напишите часть названия, чтобы найти предмет.
       *[other] Напишите часть имени, чтобы найти человека.
    } Само сообщение — после этого шага.
compose-pick-query = Поиск: «{ $query }»
compose-pick-found = Найдено: { $total } · страница { $page } из { $pages }
compose-pick-nothing = Ничего не найдено. Отправьте другую часть названия или имени либо покажите все.
compose-pick-not-a-name = { $narrowing ->
        [by_class] На этом шаге выбирают класс: напишите часть названия (одной короткой строкой) или выберите его выше.
        [by_subject] На этом шаге выбирают предмет: напишите часть названия (одной короткой строкой) или выберите его выше.
       *[other] На этом шаге выбирают человека: напишите часть имени (одной короткой строкой) или выберите его выше.
    } Само сообщение отправьте после этого.
compose-pick-gone = Этого варианта больше нет в списке; выберите снова.
compose-step-custom =
    <b>Новая рассылка</b> · { compose-step-number }
    Отправьте получателей через пробел, запятую или с новой строки: их id из списка школы (например, S001, регистр не важен), @username или Telegram id.
compose-custom-selected = Выбрано: { $count }. Продолжите или отправьте другой список взамен.
compose-custom-matched = Найдены ({ $count }): { $people }
compose-custom-unmatched = Не найдены ({ $count }): { $references }
compose-custom-none = Никто не найден. Проверьте список и отправьте его снова.
compose-step-content =
    <b>Новая рассылка</b> · { compose-step-number }
    Отправьте сообщение так, как его должны увидеть получатели: форматированный текст до { $limit } символов или одно фото, видео, документ или анимацию с подписью.
compose-content-kept = Текущее сообщение показано над предпросмотром; отправьте новое, чтобы заменить его.
compose-content-unsupported = Такое сообщение разослать нельзя. Отправьте текст или фото, видео, документ или анимацию с подписью.

compose-step-who =
    <b>Новая рассылка</b> · { compose-step-number }
    { $group }: кто получит рассылку?
compose-who-students = 🎒 Ученики
compose-who-parents = 👪 Их родители
compose-who-both = 🎒👪 Ученики и родители

# Получатели словами; $include — кто из учеников: ученики, родители или все вместе.
compose-audience-all_students = { $include ->
        [parents] Родители всех учеников
        [both] Все ученики и их родители
       *[other] Все ученики
    }
compose-audience-by_class = { $include ->
        [parents] Родители учеников { $name }
        [both] Ученики { $name } и их родители
       *[other] Ученики { $name }
    }
compose-audience-by_subject = { $include ->
        [parents] Учителя предмета { $name } и родители его учеников
        [both] Ученики и учителя предмета { $name } и родители учеников
       *[other] Ученики и учителя предмета { $name }
    }
compose-audience-by_tutor = { $include ->
        [parents] Родители учеников тьютора { $name }
        [both] Ученики тьютора { $name } и их родители
       *[other] Ученики тьютора { $name }
    }
compose-audience-by_teacher = { $include ->
        [parents] Родители учеников учителя { $name }
        [both] Ученики учителя { $name } и их родители
       *[other] Ученики учителя { $name }
    }
compose-audience-custom = { $include ->
        [parents] Родители выбранных пользователей: { $count }
        [both] Выбранные пользователи и их родители: { $count }
       *[other] Выбранные пользователи: { $count }
    }
compose-step-preview =
    <b>Новая рассылка</b> · { compose-step-number }
    Выше — сообщение в том виде, в каком его получат.
compose-preview-audience = Получатели: { $audience }
compose-preview-families = Получатели: { $audience }: { $families } { $families ->
        [one] семья
        [few] семьи
       *[other] семей
    }, { $people } { $people ->
        [one] человек
        [few] человека
       *[other] человек
    }; доступны { $reachable }
# Удалённый («deactivated») аккаунт Telegram считаем отдельно от блокировки бота и
# называем, только когда такие есть.
compose-preview-counts =
    Получат: { $reachable }
    Недоступны: { $no_telegram } без привязанного Telegram, { $blocked } { $blocked ->
        [one] заблокировал
       *[other] заблокировали
    } бота{ $deactivated ->
        [0] {""}
        [one] , { $deactivated } удалённый аккаунт
        [few] , { $deactivated } удалённых аккаунта
       *[other] , { $deactivated } удалённых аккаунтов
    }
compose-no-recipients = Не найдено получателей для группы { $audience }

compose-step-schedule =
    <b>Новая рассылка</b> · планирование
    Когда отправить? Выберите быстрый вариант или отправьте дату и время ({ $tz }), например: { $examples }

compose-created-sending = Рассылка успешно создана (#{ $id }). Отправляется, получателей: { $count }.
compose-created-draft = Рассылка успешно создана (#{ $id }) и сохранена как черновик.
compose-created-scheduled = Рассылка успешно создана (#{ $id }). Запланирована на { $time } ({ $tz }).
compose-created-unsent = Рассылка успешно создана (#{ $id }) и оставлена черновиком: { $reason }
compose-discarded = Новая рассылка отменена, ничего не сохранено.
compose-stale = Эта кнопка из старого сообщения мастера. Начните заново с /new.
