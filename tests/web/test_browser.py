"""The wallet web app in a real browser against the real system: what a customer and an admin do,
on a phone (375 px) and a laptop (1280 px)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.flows import (
    admin_token,
    create_wallet,
    data_of,
    deposit,
    marketplace_order,
    register_and_login,
    wait_paid,
)
from tests.support.stack import Stack
from tests.web.conftest import VELOCITY_MAX_CHECKS

pytestmark = pytest.mark.e2e

PHONE = {"width": 375, "height": 812}
LAPTOP = {"width": 1280, "height": 900}
MY_TRANSACTIONS = "{ myTransactions { transactionId walletId amount status type } }"


@pytest.fixture
def page(browser: Any, web_stack: Stack) -> Iterator[Page]:
    """A fresh browser context per test (its own session storage), recording every request and every
    uncaught page error (a module that fails to load or link shows up here)."""
    context = browser.new_context(base_url=web_stack.router_base, viewport=LAPTOP)
    opened = context.new_page()
    opened.requests = []  # type: ignore[attr-defined]
    opened.on("request", lambda request: opened.requests.append(request.url))  # type: ignore[attr-defined]
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    own_origin = web_stack.router_base + "/"
    assert all(url.startswith(own_origin) for url in opened.requests), opened.requests  # type: ignore[attr-defined]
    assert not errors, errors
    context.close()


def message(page: Page) -> Any:
    return page.locator("#message")


def fill_login(page: Page, email: str, password: str) -> None:
    page.get_by_label("Email", exact=True).first.fill(email)
    page.get_by_label("Kata sandi", exact=True).fill(password)
    page.get_by_role("button", name="Masuk", exact=True).click()


def sign_in(page: Page, user: dict[str, str]) -> None:
    page.goto("/")
    fill_login(page, user["email"], "password123")
    expect(page.locator("#who")).to_contain_text(user["username"])


def fits(page: Page, width: int = 375) -> None:
    """No horizontal scrolling at this width."""
    page.set_viewport_size({"width": width, "height": 812})
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def shoot(page: Page, artifacts: Path, name: str) -> None:
    """The screen at 375 px (checked for overflow) and at 1280 px."""
    fits(page, 375)
    page.screenshot(path=str(artifacts / f"{name}-375.png"), full_page=True)
    page.set_viewport_size(LAPTOP)
    page.screenshot(path=str(artifacts / f"{name}-1280.png"), full_page=True)


def my_transactions(stack: Stack, token: str) -> list[dict[str, Any]]:
    return data_of(stack.gql(MY_TRANSACTIONS, token=token))["myTransactions"]


def wallet_status(stack: Stack, wallet_id: str) -> str:
    body = stack.gql(
        "query ($w: ID!) { wallet(walletId: $w) { status } }", {"w": wallet_id}, token=admin_token(stack)
    )
    return str(data_of(body)["wallet"]["status"])


def test_signed_out_nothing_signed_in_shows_and_the_login_page_fits_a_phone(
    page: Page, artifacts: Path
) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Masuk atau daftar")).to_be_visible()
    expect(page.get_by_role("button", name="Keluar")).to_be_hidden()
    expect(page.get_by_role("button", name="Muat ulang")).to_be_hidden()
    expect(page.locator("#customer-view")).to_be_hidden()
    expect(page.locator("#admin-view")).to_be_hidden()
    shoot(page, artifacts, "login")


def test_a_customer_registers_deposits_and_pays_a_marketplace_order_with_a_receipt(
    page: Page, web_stack: Stack, artifacts: Path
) -> None:
    username = f"web{uuid.uuid4().hex[:8]}"
    email = f"{username}@example.com"
    page.goto("/")
    page.get_by_label("Nama pengguna", exact=True).fill(username)
    page.get_by_label("Nama lengkap").fill("Pembeli Web Dengan Nama Yang Cukup Panjang")
    page.locator("#reg-email").fill(email)
    page.get_by_label("Kata sandi (minimal 8 karakter)").fill("password123")
    page.get_by_role("button", name="Daftar").click()
    expect(message(page)).to_contain_text("Pendaftaran berhasil")

    fill_login(page, email, "password123")
    expect(page.locator("#who")).to_contain_text(username)
    expect(page.locator("#tx-list")).to_contain_text("Belum ada transaksi")
    expect(page.locator("#wallet-list")).to_contain_text("Belum ada dompet")
    page.get_by_label("Nama dompet baru").fill("Tabungan Utama")
    page.get_by_role("button", name="Buat dompet").click()
    expect(page.locator("#wallet-list")).to_contain_text("Tabungan Utama")
    expect(page.locator("#total-balance")).to_have_text("Rp 0")

    page.locator("#deposit-amount").fill("1.250.000,50")
    page.get_by_role("button", name="Isi saldo").click()
    expect(message(page)).to_contain_text("Transaksi berhasil: Rp 1.250.000,50")
    expect(page.locator("#total-balance")).to_have_text("Rp 1.250.000,50")
    expect(page.locator("#receipt")).to_be_visible()
    expect(page.locator("#receipt-amount")).to_have_text("Rp 1.250.000,50")

    order = marketplace_order(web_stack)
    va = order["nomorVA"]
    page.locator("#va-number").fill(va)
    page.get_by_role("button", name="Cek tagihan").click()
    expect(page.locator("#va-confirm")).to_be_visible()
    expect(page.locator("#va-confirm-amount")).to_have_text(
        re.compile(r"^Rp " + format(int(order["totalHarga"]), ",").replace(",", r"\.") + "$")
    )
    expect(page.locator("#va-confirm-description")).to_contain_text("Order BlackDoctrine")
    shoot(page, artifacts, "payment-confirmation")
    page.get_by_role("button", name="Bayar sekarang").click()
    expect(message(page)).to_contain_text("Transaksi berhasil")
    expect(page.locator("#receipt-type")).to_have_text("Pembayaran VA")
    expect(page.locator("#receipt-wallet")).to_have_text("Tabungan Utama")
    payment = page.locator("#tx-list li").filter(has_text=va)
    expect(payment).to_contain_text("Berhasil")
    expect(payment).to_contain_text("Tabungan Utama")
    assert wait_paid(web_stack, va)["paymentStatus"] == "PAID"
    shoot(page, artifacts, "dashboard")
    page.get_by_role("button", name="Keluar").click()
    expect(page.get_by_role("heading", name="Masuk atau daftar")).to_be_visible()
    expect(page.get_by_role("button", name="Keluar")).to_be_hidden()


def test_a_double_click_on_a_money_button_makes_one_transaction(page: Page, web_stack: Stack) -> None:
    user = register_and_login(web_stack, "dbl")
    wallet = create_wallet(web_stack, user["token"], "Dompet Klik")
    sign_in(page, user)
    page.locator("#deposit-amount").fill("12.345")
    page.get_by_role("button", name="Isi saldo").dblclick()
    expect(message(page)).to_contain_text("Transaksi berhasil: Rp 12.345")
    page.wait_for_timeout(1000)
    mine = my_transactions(web_stack, user["token"])
    assert [(t["walletId"], t["amount"]) for t in mine] == [(wallet, "12345.00")]


def test_the_chosen_wallet_stays_chosen_after_a_payment(page: Page, web_stack: Stack) -> None:
    user = register_and_login(web_stack, "pick")
    first = create_wallet(web_stack, user["token"], "Dompet Pertama")
    second = create_wallet(web_stack, user["token"], "Dompet Kedua")
    sign_in(page, user)
    page.get_by_label("Dompet yang dipakai").select_option(second)
    for amount in ("10.000", "5.000"):
        page.locator("#deposit-amount").fill(amount)
        page.get_by_role("button", name="Isi saldo").click()
        expect(message(page)).to_contain_text(f"Transaksi berhasil: Rp {amount}")
        expect(page.get_by_label("Dompet yang dipakai")).to_have_value(second)
    moved = {t["walletId"] for t in my_transactions(web_stack, user["token"])}
    assert moved == {second} and first not in moved


def test_a_transfer_by_username_shows_the_masked_name_first_and_the_receiver_sees_it_arrive(
    page: Page, web_stack: Stack, artifacts: Path
) -> None:
    receiver = f"rcv{uuid.uuid4().hex[:8]}"
    data_of(
        web_stack.gql(
            "mutation ($u: String!, $e: String!) "
            '{ registerUser(username: $u, fullname: "Naruto Uzumaki", email: $e, password: "password123") }',
            {"u": receiver, "e": f"{receiver}@example.com"},
        )
    )
    receiver_user = {"username": receiver, "email": f"{receiver}@example.com"}
    receiver_token = data_of(
        web_stack.gql(
            'mutation ($e: String!) { loginUser(email: $e, password: "password123") { access_token } }',
            {"e": receiver_user["email"]},
        )
    )["loginUser"]["access_token"]
    receiver_wallet = create_wallet(web_stack, receiver_token, "Dompet Terima")
    sender = register_and_login(web_stack, "snd")
    deposit(web_stack, sender["token"], create_wallet(web_stack, sender["token"], "Dompet Kirim"), 100_000)

    sign_in(page, sender)
    page.get_by_label("Nama pengguna penerima").fill(receiver)
    page.locator("#transfer-amount").fill("25.000")
    page.get_by_role("button", name="Cek penerima").click()
    expect(page.locator("#transfer-confirm")).to_be_visible()
    expect(page.locator("#transfer-confirm-name")).to_have_text("Na**** Uz*****")
    assert my_transactions(web_stack, receiver_token) == []
    shoot(page, artifacts, "transfer-confirmation")
    page.get_by_role("button", name="Kirim sekarang").click()
    expect(message(page)).to_contain_text("Transaksi berhasil: Rp 25.000")
    expect(page.locator("#tx-list")).to_contain_text(f"Transfer ke {receiver}")
    page.get_by_role("button", name="Keluar").click()

    sign_in(page, receiver_user)
    incoming = page.locator('#tx-list li[data-direction="IN"]')
    expect(incoming).to_contain_text(f"Transfer dari {sender['username']}")
    expect(incoming).to_contain_text("+Rp 25.000")
    expect(incoming).to_contain_text("Dompet Terima")
    expect(page.locator("#total-balance")).to_have_text("Rp 25.000")
    assert receiver_wallet
    shoot(page, artifacts, "incoming-transfer")


def test_a_customer_rejected_by_a_security_rule_never_sees_fraud_words(page: Page, web_stack: Stack) -> None:
    user = register_and_login(web_stack, "vel")
    wallet = create_wallet(web_stack, user["token"], "Dompet Cepat")
    for _ in range(VELOCITY_MAX_CHECKS):
        deposit(web_stack, user["token"], wallet, 1000)
    sign_in(page, user)
    page.locator("#deposit-amount").fill("1.000")
    page.get_by_role("button", name="Isi saldo").click()
    expect(message(page)).to_contain_text("Transaksi ditolak demi keamanan; coba lagi dalam 1 menit")
    expect(page.locator("#receipt-status")).to_contain_text("Ditolak")
    text = page.locator("body").inner_text()
    for word in ("FRAUD", "Penipuan", "VELOCITY", "fraud"):
        assert word not in text, word
    assert my_transactions(web_stack, user["token"])[0]["status"] == "REJECTED"


def test_input_errors_are_shown_at_the_field_in_indonesian_and_go_away(page: Page, web_stack: Stack) -> None:
    user = register_and_login(web_stack, "fld")
    create_wallet(web_stack, user["token"], "Dompet Isian")
    page.goto("/")
    page.get_by_label("Nama pengguna", exact=True).fill(f"x{uuid.uuid4().hex[:8]}")
    page.get_by_label("Nama lengkap").fill("Sudah Ada")
    page.locator("#reg-email").fill(user["email"])
    page.get_by_label("Kata sandi (minimal 8 karakter)").fill("password123")
    page.get_by_role("button", name="Daftar").click()
    expect(page.locator("#reg-email-error")).to_have_text("Email ini sudah terdaftar. Silakan masuk.")
    expect(page.locator("#reg-email")).to_have_attribute("aria-invalid", "true")

    sign_in(page, user)
    expect(page.locator("#message")).not_to_contain_text("sudah terdaftar")
    page.locator("#deposit-amount").fill("12,345")
    page.get_by_role("button", name="Isi saldo").click()
    expect(page.locator("#deposit-amount-error")).to_contain_text("paling banyak 2 angka desimal")
    assert my_transactions(web_stack, user["token"]) == []
    page.locator("#deposit-amount").fill("12,34")
    page.get_by_role("button", name="Isi saldo").click()
    expect(message(page)).to_contain_text("Transaksi berhasil: Rp 12,34")
    expect(page.locator("#deposit-amount-error")).to_be_hidden()
    page.get_by_label("Nama pengguna penerima").fill(f"nobody{uuid.uuid4().hex[:6]}")
    page.locator("#transfer-amount").fill("1.000")
    page.get_by_role("button", name="Cek penerima").click()
    expect(page.locator("#transfer-to-error")).to_contain_text("Penerima tidak ditemukan")
    expect(page.locator("#transfer-confirm")).to_be_hidden()
    page.locator("#va-number").fill("DS-8800000000000000")
    page.get_by_role("button", name="Cek tagihan").click()
    expect(page.locator("#va-number-error")).to_contain_text("nomor VA")
    expect(message(page)).to_contain_text("Nomor virtual account tidak dikenal")
    expect(page.locator("#transfer-to-error")).to_be_hidden()
    text = page.locator("body").inner_text()
    assert "(failed)" not in text and "SUCCESS" not in text


def test_the_admin_freezes_a_wallet_from_a_fraud_log_and_reverses_a_transaction(
    page: Page, web_stack: Stack, artifacts: Path
) -> None:
    user = register_and_login(web_stack, "adm")
    wallet = create_wallet(web_stack, user["token"], "Dompet Diawasi")
    tx = deposit(web_stack, user["token"], wallet, 50_000)

    page.goto("/")
    fill_login(page, web_stack.admin_email, web_stack.admin_password)
    expect(page.get_by_role("heading", name="Admin")).to_be_visible()
    expect(page.locator("#customer-view")).to_be_hidden()
    item = page.locator(f'#fraud-list li[data-transaction-id="{tx["transactionId"]}"]')
    expect(item).to_contain_text(user["username"])
    expect(item).to_contain_text("Dompet Diawasi")
    expect(item).to_contain_text("Rp 50.000")
    expect(page.locator("#outbox-summary")).to_contain_text("menunggu dikirim")
    shoot(page, artifacts, "admin")

    item.get_by_role("button", name="Bekukan dompet").click()
    expect(message(page)).to_contain_text("dibekukan")
    assert wallet_status(web_stack, wallet) == "FROZEN"
    item.get_by_role("button", name="Cairkan dompet").click()
    expect(message(page)).to_contain_text("aktif kembali")
    assert wallet_status(web_stack, wallet) == "ACTIVE"

    item.get_by_role("button", name="Batalkan transaksi").click()
    expect(page.locator("#reverse-confirm")).to_be_visible()
    expect(page.locator("#reverse-confirm-amount")).to_have_text("Rp 50.000")
    assert my_transactions(web_stack, user["token"])[0]["status"] == "SUCCESS"
    page.get_by_role("button", name="Ya, batalkan").click()
    expect(message(page)).to_contain_text("dibatalkan")
    assert my_transactions(web_stack, user["token"])[0]["status"] == "REVERSED"

    for index in range(3):  # more SAFE logs than one page holds (the velocity rule allows 5 a minute)
        extra = register_and_login(web_stack, f"pg{index}")
        extra_wallet = create_wallet(web_stack, extra["token"], "Dompet Halaman")
        for _ in range(4):
            deposit(web_stack, extra["token"], extra_wallet, 1000)
    page.get_by_label("Status").select_option("SAFE")
    page.get_by_role("button", name="Tampilkan").click()
    expect(page.get_by_role("button", name="Tampilkan")).to_be_enabled()
    first_page = page.locator("#fraud-list li").first.get_attribute("data-log-id")
    expect(page.get_by_role("button", name="Berikutnya")).to_be_enabled()
    page.get_by_role("button", name="Berikutnya").click()
    expect(page.locator("#fraud-page")).to_have_text("Halaman 2")
    assert page.locator("#fraud-list li").first.get_attribute("data-log-id") != first_page
    expect(page.locator("#fraud-list")).not_to_contain_text("FRAUD")
    page.get_by_role("button", name="Sebelumnya").click()
    expect(page.locator("#fraud-page")).to_have_text("Halaman 1")
    expect(page.locator("#fraud-list li").first).to_have_attribute("data-log-id", str(first_page))
    page.get_by_role("button", name="Verifikasi jejak audit").click()
    expect(page.locator("#audit-result")).to_contain_text("Utuh")

    # The ledger card: the trial balance holds, and a payout leaves nothing owed to the marketplace.
    page.get_by_role("button", name="Periksa neraca saldo").click()
    expect(page.locator("#ledger-summary")).to_contain_text("Seimbang")
    expect(page.locator("#ledger-summary")).to_contain_text("jumlah semua saldo Rp 0")
    page.get_by_role("button", name="Cairkan ke marketplace").click()  # whatever other tests paid
    expect(page.locator("#settlement-summary")).to_have_text("Hak marketplace yang belum dicairkan: Rp 0")
    page.get_by_role("button", name="Cairkan ke marketplace").click()
    expect(message(page)).to_contain_text("Tidak ada saldo marketplace")


def test_a_retry_after_a_lost_answer_sends_the_same_key_and_makes_one_transaction(
    page: Page, web_stack: Stack
) -> None:
    user = register_and_login(web_stack, "lost")
    wallet = create_wallet(web_stack, user["token"], "Dompet Sinyal")
    sign_in(page, user)
    keys: list[str] = []

    def lose_the_first_answer(route: Any) -> None:
        body = route.request.post_data_json or {}
        if "createTransaction" not in str(body.get("query")):
            route.continue_()
            return
        keys.append(body["variables"]["input"]["idempotencyKey"])
        if len(keys) == 1:
            route.fetch()  # the server runs it ...
            route.abort("connectionreset")  # ... and the phone never hears back
            return
        route.continue_()

    page.route("**/graphql", lose_the_first_answer)
    page.locator("#deposit-amount").fill("7.500")
    page.get_by_role("button", name="Isi saldo").click()
    expect(message(page)).to_contain_text("Layanan sedang tidak tersedia")
    page.get_by_role("button", name="Isi saldo").click()
    expect(message(page)).to_contain_text("Transaksi berhasil: Rp 7.500")
    assert len(keys) == 2 and keys[0] == keys[1]
    assert [(t["walletId"], t["amount"]) for t in my_transactions(web_stack, user["token"])] == [
        (wallet, "7500.00")
    ]
    expect(page.locator("#deposit-amount")).to_have_value("")
    page.locator("#deposit-amount").fill("7.500")
    page.get_by_role("button", name="Isi saldo").click()
    expect(message(page)).to_contain_text("Transaksi berhasil: Rp 7.500")
    expect(page.locator("#tx-list li")).to_have_count(2)
    assert len(keys) == 3 and keys[2] != keys[0]


def test_money_arriving_from_elsewhere_shows_without_a_reload(page: Page, web_stack: Stack) -> None:
    """The dashboard follows the router's walletEvents subscription (SSE) while signed in."""
    user = register_and_login(web_stack, "live")
    wallet = create_wallet(web_stack, user["token"], "Dompet Hidup")
    sign_in(page, user)
    expect(page.locator("body")).to_have_attribute("data-live", "on")
    loads = len(page.requests)  # type: ignore[attr-defined]
    deposit(web_stack, user["token"], wallet, 42_000)  # another device, not this page
    expect(page.locator("#total-balance")).to_have_text("Rp 42.000")
    expect(page.locator("#tx-list")).to_contain_text("Isi saldo")
    navigations = [u for u in page.requests[loads:] if not u.endswith("/graphql")]  # type: ignore[attr-defined]
    assert navigations == [], navigations
    page.get_by_role("button", name="Keluar").click()
    expect(page.locator("body")).to_have_attribute("data-live", "off")
