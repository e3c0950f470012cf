from django.test import Client

from tests.support.console import PASSWORD, make_user


def test_it_sends_anonymous_visitors_to_the_login_page(db):
    response = Client().get("/routes/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/routes/"


def test_it_refuses_a_login_post_without_the_csrf_token(db):
    make_user("viewer")
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "viewer", "password": PASSWORD})
    assert response.status_code == 403


def test_it_signs_in_with_the_csrf_token_and_rotates_the_session(db):
    make_user("viewer")
    client = Client(enforce_csrf_checks=True)
    page = client.get("/login/")
    assert b'name="csrfmiddlewaretoken"' in page.content
    client.cookies["sessionid"] = "pre-login-session-key"
    response = client.post(
        "/login/",
        {
            "username": "viewer",
            "password": PASSWORD,
            "csrfmiddlewaretoken": page.context["csrf_token"],
        },
    )
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.cookies["sessionid"].value != "pre-login-session-key"
    assert client.get("/").status_code == 200


def test_it_shows_a_clear_message_for_a_wrong_password(db):
    make_user("viewer")
    response = Client().post("/login/", {"username": "viewer", "password": "wrong"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_it_signs_out_with_a_post_only(db):
    client = Client()
    client.force_login(make_user("viewer", password=None))
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/")["Location"] == "/login/"
    assert client.get("/")["Location"].startswith("/login/")
