// FlexSecure console: a little progressive enhancement. Every page works without this script; it adds
// copy buttons, confirmations, the sign-in page's polling, the audit trail's live tail and the chart's
// tooltips. It writes text with textContent only, never HTML.
;(() => {
  const csrfOf = (form) => form?.querySelector('input[name="_csrf"], input[name="_form"]')

  // Ask before destructive actions.
  for (const form of document.querySelectorAll('form[data-confirm]'))
    form.addEventListener('submit', (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault()
    })

  // Copy a secret shown once (a new API key).
  for (const button of document.querySelectorAll('button[data-copy]')) {
    button.hidden = false
    button.addEventListener('click', async () => {
      const source = document.getElementById(button.dataset.copy)
      try {
        await navigator.clipboard.writeText(source.textContent)
        button.textContent = 'Copied'
      } catch {
        const range = document.createRange()
        range.selectNodeContents(source)
        window.getSelection().removeAllRanges()
        window.getSelection().addRange(range)
        button.textContent = 'Selected: press Ctrl+C'
      }
    })
  }

  // The sign-in page: ask every two seconds whether the link was confirmed.
  const waiting = document.querySelector('form[data-poll]')
  if (waiting) {
    const status = document.getElementById('waiting')
    const poll = async () => {
      try {
        const body = new URLSearchParams({ _form: csrfOf(waiting).value })
        const response = await fetch(waiting.dataset.poll, {
          method: 'POST',
          body,
          credentials: 'same-origin',
        })
        const answer = await response.json()
        if (answer.location) return window.location.assign(answer.location)
      } catch {
        if (status) status.textContent = 'Lost contact with the server; retrying…'
      }
      window.setTimeout(poll, 2000)
    }
    window.setTimeout(poll, 2000)
  }

  // The audit trail's live tail: new events go on top of the table as they happen.
  const live = document.getElementById('live-tail')
  if (live) {
    live.closest('.live').hidden = false
    const rows = document.getElementById('audit-rows')
    let after = Number(live.dataset.after)
    let timer = null
    const columns = ['seq', 'at', 'type', 'actor', 'system', 'authid', 'outcome', 'reason', 'ip', 'details']
    const tick = async () => {
      try {
        const response = await fetch(`${live.dataset.tail}&after=${after}`, { credentials: 'same-origin' })
        const answer = await response.json()
        for (const event of answer.events) {
          const row = document.createElement('tr')
          row.className = 'new'
          for (const column of columns) {
            const cell = document.createElement('td')
            cell.textContent = String(event[column] ?? '')
            if (column === 'details') cell.className = 'details'
            row.append(cell)
          }
          rows.prepend(row)
        }
        after = answer.after
      } catch {}
      if (live.checked) timer = window.setTimeout(tick, 2000)
    }
    live.addEventListener('change', () => {
      window.clearTimeout(timer)
      if (live.checked) tick()
    })
  }

  // The chart's tooltips, for a mouse; the numbers are also in the table below the chart.
  for (const chart of document.querySelectorAll('svg[data-chart]')) {
    const tip = document.createElement('div')
    tip.className = 'tip'
    tip.hidden = true
    tip.setAttribute('aria-hidden', 'true')
    document.body.append(tip)
    chart.addEventListener('mousemove', (event) => {
      const text = event.target?.dataset?.tip
      tip.hidden = !text
      if (!text) return
      tip.textContent = text
      tip.style.left = `${event.clientX + 12}px`
      tip.style.top = `${event.clientY + 12}px`
    })
    chart.addEventListener('mouseleave', () => {
      tip.hidden = true
    })
  }
})()
