# Кто не подтвердил прочтение (/recipients ID unconfirmed и кнопка в подробностях) и выгрузка
# получателей в CSV. Значения, пришедшие от пользователей, экранирует код.

details-btn-unconfirmed = 👀 Не подтвердили ({ $count })
details-btn-export = 📄 Выгрузить CSV

unconfirmed-title = <b>Не подтвердили: #{ $id }</b> · { $count ->
        [one] { $count } получивший не подтвердил
       *[other] { $count } получивших не подтвердили
    } · страница { $page } из { $pages }
unconfirmed-item = 👀 { $name } · { $role }{ $reminders ->
        [0] {""}
       *[other] {" "}· 🔔 { $reminders }
    }
unconfirmed-empty = Никого: все получившие подтвердили прочтение.
unconfirmed-btn-all = 👥 Все получатели
error-confirmation-not-asked = Рассылка #{ $id } не просит подтвердить прочтение, поэтому списка неподтвердивших у неё нет.

role-student = ученик
role-teacher = учитель
role-tutor = тьютор
role-parent = родитель
role-admin = администратор

csv-name = Имя
csv-external-id = ID в школе
csv-role = Роль
csv-delivered-at = Доставлено ({ $tz })
csv-confirmed-at = Подтверждено ({ $tz })
csv-error = Ошибка
export-caption = Получатели рассылки #{ $id }: { $count } { $count ->
        [one] строка
        [few] строки
       *[other] строк
    }, время — { $tz }.
