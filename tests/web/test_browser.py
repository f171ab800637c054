"""The wallet web app in a real browser against the real system: what a customer and an admin do."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.flows import admin_token, data_of, marketplace_order, wait_paid
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


def fill_login(page: Page, email: str, password: str) -> None:
    page.get_by_label("Email", exact=True).first.fill(email)
    page.get_by_label("Kata sandi", exact=True).fill(password)
    page.get_by_role("button", name="Masuk", exact=True).click()


def message(page: Page) -> Any:
    return page.locator("#message")


@pytest.fixture(scope="module")
def page_and_requests(browser: Any, web_stack: Stack) -> Any:
    context = browser.new_context(base_url=web_stack.router_base)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    yield page, requests
    context.close()


def test_a_customer_registers_deposits_and_pays_a_marketplace_order_by_va(
    page_and_requests: Any, web_stack: Stack, artifacts: Path
) -> None:
    page, requests = page_and_requests
    username = f"web{uuid.uuid4().hex[:8]}"
    email = f"{username}@example.com"
    page.goto("/")
    expect(page.get_by_role("heading", name="Masuk atau daftar")).to_be_visible()

    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Nama lengkap").fill("Pembeli Web")
    page.locator("#reg-email").fill(email)
    page.get_by_label("Kata sandi (minimal 8 karakter)").fill("password123")
    page.get_by_role("button", name="Daftar").click()
    expect(message(page)).to_contain_text("Pendaftaran berhasil")

    fill_login(page, email, "password123")
    expect(page.locator("#who")).to_contain_text(username)

    page.get_by_label("Nama dompet baru").fill("Tabungan Utama")
    page.get_by_role("button", name="Buat dompet").click()
    expect(page.locator("#wallet-list")).to_contain_text("Tabungan Utama")
    expect(page.locator("#wallet-list")).to_contain_text("Rp 0")

    page.locator("#deposit-amount").fill("500.000")
    page.get_by_role("button", name="Isi saldo").click()
    expect(message(page)).to_contain_text("Transaksi berhasil: Rp 500.000")
    expect(page.locator("#wallet-list")).to_contain_text("Rp 500.000")

    order = marketplace_order(web_stack)
    va = order["nomorVA"]
    assert va.startswith("DS-8800"), order
    page.locator("#va-number").fill(va)
    page.get_by_role("button", name="Cek tagihan").click()
    confirm = page.locator("#va-confirm")
    expect(confirm).to_be_visible()
    expect(page.locator("#va-confirm-amount")).to_have_text(
        re.compile(r"^Rp " + format(int(order["totalHarga"]), ",").replace(",", r"\.") + "$")
    )
    expect(page.locator("#va-confirm-description")).to_contain_text("Order BlackDoctrine")
    page.screenshot(path=str(artifacts / "payment-confirmation.png"), full_page=True)
    page.get_by_role("button", name="Bayar sekarang").click()
    expect(message(page)).to_contain_text("Transaksi berhasil")

    rows = page.locator("#tx-rows tr")
    payment_row = rows.filter(has_text=va)
    expect(payment_row).to_contain_text("Berhasil (SUCCESS)")
    expect(page.locator("#history-rows")).to_contain_text("Pembayaran (PAYMENT)")
    assert wait_paid(web_stack, va)["paymentStatus"] == "PAID"
    page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)
    assert (artifacts / "dashboard.png").stat().st_size > 10_000

    page.get_by_role("button", name="Keluar").click()
    expect(page.get_by_role("heading", name="Masuk atau daftar")).to_be_visible()
    own_origin = web_stack.router_base + "/"
    assert requests and all(url.startswith(own_origin) for url in requests), requests


def test_wrong_password_insufficient_balance_and_unknown_va_show_clear_messages_and_change_nothing(
    page_and_requests: Any, web_stack: Stack
) -> None:
    page, _ = page_and_requests
    username = f"web{uuid.uuid4().hex[:8]}"
    email = f"{username}@example.com"
    data_of(
        web_stack.gql(
            "mutation ($u: String!, $e: String!) "
            '{ registerUser(username: $u, fullname: "Uji", email: $e, password: "password123") }',
            {"u": username, "e": email},
        )
    )
    page.goto("/")
    fill_login(page, email, "salah-sekali")
    expect(message(page)).to_contain_text("Email atau kata sandi salah")
    expect(page.locator("#customer-view")).to_be_hidden()

    fill_login(page, email, "password123")
    page.get_by_label("Nama dompet baru").fill("Dompet Kosong")
    page.get_by_role("button", name="Buat dompet").click()
    expect(page.locator("#wallet-list")).to_contain_text("Dompet Kosong")

    other = f"{uuid.uuid4()}"
    page.locator("#transfer-to").fill(other)
    page.locator("#transfer-amount").fill("10000")
    page.get_by_role("button", name="Transfer", exact=True).click()
    expect(message(page)).to_contain_text(re.compile("Saldo tidak cukup|Data tidak ditemukan"))
    expect(page.locator("#wallet-list")).to_contain_text("Rp 0")

    order = marketplace_order(web_stack)
    page.locator("#va-number").fill(order["nomorVA"])
    page.get_by_role("button", name="Cek tagihan").click()
    page.get_by_role("button", name="Bayar sekarang").click()
    expect(message(page)).to_contain_text("Saldo tidak cukup")
    expect(page.locator("#wallet-list")).to_contain_text("Rp 0")
    unpaid = web_stack.orders(
        "query ($va: String!) { getOrderByVA(vaNumber: $va) { paymentStatus } }", {"va": order["nomorVA"]}
    )
    assert data_of(unpaid)["getOrderByVA"]["paymentStatus"] == "UNPAID"

    page.locator("#va-number").fill("DS-8800000000000000")
    page.get_by_role("button", name="Cek tagihan").click()
    expect(message(page)).to_contain_text("Nomor virtual account tidak dikenal")
    expect(page.locator("#va-confirm")).to_be_hidden()
    page.get_by_role("button", name="Keluar").click()


def test_the_admin_sees_the_fraud_log_of_a_payment_and_verifies_the_audit_trail(
    page_and_requests: Any, web_stack: Stack, artifacts: Path
) -> None:
    page, _ = page_and_requests
    admin = admin_token(web_stack)
    logs = data_of(web_stack.gql("{ getFraudLogs(first: 200) { userId type } }", token=admin))
    payers = {log["userId"] for log in logs["getFraudLogs"] if log["type"] == "PAYMENT"}
    assert payers, "the customer test should have left a PAYMENT fraud log"
    payer = sorted(payers)[0]

    page.goto("/")
    fill_login(page, web_stack.admin_email, web_stack.admin_password)
    expect(page.get_by_role("heading", name="Admin")).to_be_visible()
    page.get_by_label("ID pengguna").fill(payer)
    page.get_by_role("button", name="Tampilkan").click()
    expect(page.locator("#fraud-rows")).to_contain_text(payer)
    expect(page.locator("#fraud-rows")).to_contain_text("Aman (SAFE)")
    page.get_by_role("button", name="Verifikasi jejak audit").click()
    expect(page.locator("#audit-result")).to_contain_text("Utuh")
    page.screenshot(path=str(artifacts / "admin.png"), full_page=True)
