// Every GraphQL document the page sends, in one place: what the web app asks of the federated
// /graphql reads apart from the screens that use the answers.

export const Q = {
  login: `mutation Login($email: String!, $password: String!) {
    loginUser(email: $email, password: $password) { access_token user { id username role } } }`,
  register: `mutation Register($username: String!, $fullname: String!, $email: String!, $password: String!) {
    registerUser(username: $username, fullname: $fullname, email: $email, password: $password) }`,
  dashboard: `query Dashboard {
    me {
      id username fullname role
      wallets { walletId walletName balance status }
      transactions(first: 30) {
        transactionId walletId amount type status vaNumber createdAt direction counterparty
        failureReason { code }
      }
    } }`,
  whoami: `query Who { me { id username role } }`,
  createWallet: `mutation CreateWallet($name: String!) { createWallet(walletName: $name) { walletId walletName } }`,
  createTx: `mutation Pay($input: CreateTransactionInput!) {
    createTransaction(input: $input) {
      transactionId walletId status amount type vaNumber counterparty createdAt failureReason { code } } }`,
  invoice: `query Invoice($va: String!) { invoice(vaNumber: $va) { vaNumber amount description status expiresAt } }`,
  recipient: `query Recipient($u: String!) { recipient(username: $u) { username displayName walletId } }`,
  fraudLogs: `query FraudLogs($status: String, $first: Int, $after: String) {
    getFraudLogs(status: $status, first: $first, after: $after) {
      logId transactionId amount type status reasons createdAt
      user { id username } wallet { walletId walletName status } } }`,
  freeze: `mutation Freeze($id: ID!) { freezeWallet(walletId: $id) { walletId status } }`,
  unfreeze: `mutation Unfreeze($id: ID!) { unfreezeWallet(walletId: $id) { walletId status } }`,
  transaction: `query Tx($id: ID!) { transaction(transactionId: $id) { transactionId type amount status } }`,
  reverse: `mutation Reverse($id: ID!, $reason: String) {
    reverseTransaction(transactionId: $id, reason: $reason) { transactionId status } }`,
  outbox: `query Outbox {
    pending: outboxMessages(state: "PENDING", first: 100) { id }
    overdue: outboxMessages(overdue: true, first: 100) { id }
    dead: outboxMessages(state: "DEAD", first: 20) { id kind transactionId attempts lastError createdAt } }`,
  audit: `query Audit { verifyAuditTrail { ok checked firstBrokenId } }`,
  ledger: `query Ledger { trialBalance(kinds: [SETTLEMENT]) {
    balanced debitTotal creditTotal balanceTotal accounts { accountId balance } } }`,
  settle: `mutation Settle($key: String!) {
    settleMerchant(merchantId: "marketplace", idempotencyKey: $key) { batchId total paymentCount } }`,
};
