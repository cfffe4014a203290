/**
 * The passwords tried first in credential-stuffing and spraying attacks: the head of the public
 * most-common-password lists, lower-cased, with the trailing digits people add stripped off before
 * the check (passwords.ts). Small on purpose: the minimum length already rules out most of such lists.
 */
export const COMMON_PASSWORDS: ReadonlySet<string> = new Set([
  '123456789012', '1234567890123', 'qwertyuiopas', 'qwertyuiop', 'password', 'passwordpassword',
  'password123', 'p@ssw0rd', 'p@ssword', 'passw0rd', 'letmein', 'letmeinletmein', 'welcome', 'welcomewelcome',
  'iloveyou', 'iloveyouiloveyou', 'administrator', 'admin', 'adminadmin', 'changeme', 'changemenow',
  'trustno', 'sunshine', 'princess', 'football', 'baseball', 'basketball', 'superman', 'batman', 'starwars',
  'dragon', 'monkey', 'shadow', 'master', 'michael', 'jennifer', 'jordan', 'hunter', 'ranger', 'buster',
  'soccer', 'hockey', 'killer', 'george', 'charlie', 'andrew', 'michelle', 'jessica', 'pepper', 'daniel',
  'access', 'thomas', 'summer', 'winter', 'spring', 'autumn', 'qwerty', 'qwertyqwerty', 'asdfghjkl',
  'asdfghjkl;', 'zxcvbnm', 'zxcvbnmasdfg', '1q2w3e4r5t6y', '1qaz2wsx3edc', 'qazwsxedcrfv', 'abc',
  'abcdefghijkl', 'abcd1234abcd', 'aaaaaaaaaaaa', 'secret', 'secretsecret', 'whatever', 'freedom',
  'computer', 'internet', 'samsung', 'google', 'iphone', 'callroute', 'calltracking', 'callrail',
  'mypassword', 'mysecretpassword', 'correcthorsebatterystaple', 'correct horse battery staple',
  'passwordpassword', 'password1234', 'passwort', 'motdepasse', 'contraseña', 'senha', 'haslo',
  'login', 'loginlogin', 'test', 'testtest', 'testing', 'testpassword', 'guest', 'guestguest', 'root',
  'rootroot', 'toor', 'default', 'defaultpassword', 'temp', 'temppassword', 'newpassword', 'mustchange',
  'company', 'business', 'office', 'telephone', 'phone', 'marketing', 'qwerty123456', 'q1w2e3r4t5y6',
]);
