import { ValidationError } from './errors.js'

// S10: a PIN the user knows, used only as an extra layer after a delivered link or one-time PIN.
// 6 to 12 digits, and none of the patterns people choose most: runs, repeats, repeated pairs or
// triples, calendar dates, keypad shapes, and the commonest PINs.
//
// The list below holds PINs that published PIN-frequency studies rank among the most chosen, plus
// a few of their obvious neighbours. Most of them are also caught by the pattern rules; the list is
// for what the rules miss (e.g. 520131, "I love you for life", frequent in Chinese datasets).
//   - Daniel Amitay, "Most Common iPhone Passcodes" (2011): 4-digit lock-screen codes.
//   - Nick Berry, DataGenetics, "PIN analysis" (2012): 3.4 million 4-digit PINs from leaks.
//   - Ding Wang, Qianchen Gu, Xinyi Huang, Ping Wang, "Understanding Human-Chosen PINs:
//     Characteristics, Distribution and Security", ASIA CCS 2017: 4- and 6-digit PINs from leaks.
//   - Philipp Markert, Daniel V. Bailey, Maximilian Golla, Markus Dürmuth, Adam J. Aviv, "This PIN
//     Can Be Easily Guessed: Analyzing the Security of Smartphone Unlock PINs", IEEE S&P 2020,
//     which also shows small blocklists measurably raise guessing resistance.
export const COMMON_PINS: ReadonlySet<string> = new Set([
  '123456',
  '654321',
  '111111',
  '000000',
  '123123',
  '666666',
  '121212',
  '112233',
  '789456',
  '159753',
  '987654',
  '696969',
  '123321',
  '131313',
  '777777',
  '159357',
  '555555',
  '222222',
  '101010',
  '147258',
  '888888',
  '999999',
  '456789',
  '147852',
  '333333',
  '444444',
  '520520',
  '520131',
  '112358',
  '232323',
  '123654',
  '212121',
  '110110',
  '147369',
  '258456',
  '852456',
  '741852',
  '963852',
  '135790',
  '246810',
  '102030',
  '100200',
  '123789',
  '112211',
  '456123',
  '123000',
  '100000',
  '200000',
  '121314',
  '010203',
  '789789',
  '456456',
  '159159',
  '753951',
  '951753',
  '123987',
  '321654',
  '142536',
  '314159',
  '007007',
  '123457',
  '123458',
  '123465',
  '124578',
  '012345',
  '098765',
  '080808',
  '090909',
  '131420',
  '5201314',
  '1234567',
  '7654321',
  '12345678',
  '87654321',
  '11223344',
  '1234567890',
  '0987654321',
])

// Keypad shapes on a phone keypad (1 2 3 / 4 5 6 / 7 8 9 / 0 under 8): rows, columns and diagonals.
const KEYPAD_LINES = ['123', '456', '789', '147', '258', '369', '159', '357', '0852', '2580']
const KEYPAD_PIECES = [...KEYPAD_LINES, ...KEYPAD_LINES.map((line) => [...line].reverse().join(''))]

/** Whether `pin` is made only of keypad lines (each at least 3 keys), end to end. */
function isKeypadShape(pin: string): boolean {
  const reachable = new Set<number>([0])
  for (let i = 0; i < pin.length; i++) {
    if (!reachable.has(i)) continue
    for (const piece of KEYPAD_PIECES)
      for (let length = 3; length <= piece.length; length++)
        for (let start = 0; start + length <= piece.length; start++)
          if (pin.startsWith(piece.slice(start, start + length), i)) reachable.add(i + length)
  }
  return reachable.has(pin.length)
}

/** Every step +1 (or every step −1), wrapping 9→0: 123456, 890123, 654321. */
function isRun(pin: string): boolean {
  const step = (i: number) => (Number(pin[i + 1]) - Number(pin[i]) + 10) % 10
  const first = step(0)
  if (first !== 1 && first !== 9) return false
  for (let i = 1; i < pin.length - 1; i++) if (step(i) !== first) return false
  return true
}

/** The same block of 1, 2 or 3 digits over and over: 111111, 121212, 123123. */
function isRepeat(pin: string): boolean {
  for (const size of [1, 2, 3]) {
    if (pin.length % size !== 0) continue
    const block = pin.slice(0, size)
    if (block.repeat(pin.length / size) === pin) return true
  }
  return false
}

function validDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate()
  return day <= days
}

/** A calendar date in a common order: DDMMYY, MMDDYY, YYMMDD, DDMMYYYY, MMDDYYYY, YYYYMMDD. */
function isDate(pin: string): boolean {
  const n = (from: number, to: number) => Number(pin.slice(from, to))
  if (pin.length === 6) {
    const century = (yy: number) => (yy > 30 ? 1900 + yy : 2000 + yy)
    return (
      validDate(century(n(4, 6)), n(2, 4), n(0, 2)) ||
      validDate(century(n(4, 6)), n(0, 2), n(2, 4)) ||
      validDate(century(n(0, 2)), n(2, 4), n(4, 6))
    )
  }
  if (pin.length === 8) {
    const year = (y: number) => y >= 1900 && y <= 2099
    return (
      (year(n(4, 8)) && validDate(n(4, 8), n(2, 4), n(0, 2))) ||
      (year(n(4, 8)) && validDate(n(4, 8), n(0, 2), n(2, 4))) ||
      (year(n(0, 4)) && validDate(n(0, 4), n(4, 6), n(6, 8)))
    )
  }
  return false
}

/** Why `pin` is refused as a memorized PIN, or null when it is acceptable. */
export function weakPinReason(pin: string): string | null {
  if (!/^\d{6,12}$/.test(pin)) return 'must be 6 to 12 digits'
  if (COMMON_PINS.has(pin)) return 'is one of the most common PINs'
  if (isRepeat(pin)) return 'repeats a digit or a group of digits'
  if (isRun(pin)) return 'is a run of consecutive digits'
  if (isDate(pin)) return 'looks like a date'
  if (isKeypadShape(pin)) return 'is a line or shape on the keypad'
  return null
}

/** Throws `ValidationError` (field `pin`) for a PIN S10 refuses. */
export function requireMemorizedPin(pin: unknown): string {
  if (typeof pin !== 'string') throw new ValidationError('pin', 'must be a string of digits')
  const reason = weakPinReason(pin)
  if (reason) throw new ValidationError('pin', reason)
  return pin
}
