import type { Child, FC } from 'hono/jsx'
import { Csrf } from './layout.js'

// Form controls with their labels, hints and errors wired for assistive technology: every control
// has a <label>, a hint or an error is announced through aria-describedby, and a field in error is
// marked aria-invalid. Ids derive from field names, so an error summary can link to its field.

/** A problem with one field of a form, as the engine named it. */
export interface FieldError {
  readonly field: string
  readonly message: string
  /** The engine's refusal without its field's name, where the engine gave one. */
  readonly detail?: string
}

/** The id of the control for a field name (`policies.pin.attempts` → `f-policies-pin-attempts`). */
export const fieldId = (name: string) => `f-${name.replace(/[^A-Za-z0-9_-]+/g, '-')}`

const errorFor = (errors: readonly FieldError[] | undefined, name: string) =>
  errors?.find((e) => e.field === name)?.message

const describedBy = (id: string, hint: unknown, error: unknown) =>
  [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(' ') || undefined

interface FieldProps {
  readonly name: string
  readonly label: string
  readonly value?: string | number | null
  readonly hint?: string
  readonly errors?: readonly FieldError[]
  readonly required?: boolean
  readonly type?: 'text' | 'email' | 'tel' | 'number' | 'password' | 'datetime-local' | 'date' | 'search'
  readonly inputmode?: 'numeric' | 'text' | 'email' | 'tel'
  readonly autocomplete?: string
  readonly min?: number
  readonly max?: number
  readonly pattern?: string
  readonly maxlength?: number
  /** The field name engine errors use, when it differs from the control's name. */
  readonly errorField?: string
}

const Explain: FC<{ id: string; hint?: string | undefined; error?: string | undefined }> = ({
  id,
  hint,
  error,
}) => (
  <>
    {hint ? (
      <p class="hint" id={`${id}-hint`}>
        {hint}
      </p>
    ) : null}
    {error ? (
      <p class="error" id={`${id}-error`}>
        {error}
      </p>
    ) : null}
  </>
)

/** A labelled text-like input. */
export const Field: FC<FieldProps> = (p) => {
  const id = fieldId(p.errorField ?? p.name)
  const error = errorFor(p.errors, p.errorField ?? p.name)
  return (
    <div class={error ? 'field invalid' : 'field'}>
      <label for={id}>
        {p.label}
        {p.required ? <span class="required"> (required)</span> : null}
      </label>
      <input
        id={id}
        name={p.name}
        type={p.type ?? 'text'}
        value={p.value === null || p.value === undefined ? '' : String(p.value)}
        required={p.required}
        inputmode={p.inputmode}
        autocomplete={p.autocomplete ?? 'off'}
        min={p.min}
        max={p.max}
        pattern={p.pattern}
        maxlength={p.maxlength}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy(id, p.hint, error)}
      />
      <Explain id={id} hint={p.hint} error={error} />
    </div>
  )
}

/** A labelled multi-line input. */
export const TextArea: FC<Omit<FieldProps, 'type' | 'min' | 'max' | 'pattern'> & { rows?: number }> = (p) => {
  const id = fieldId(p.errorField ?? p.name)
  const error = errorFor(p.errors, p.errorField ?? p.name)
  return (
    <div class={error ? 'field invalid' : 'field'}>
      <label for={id}>{p.label}</label>
      <textarea
        id={id}
        name={p.name}
        rows={p.rows ?? 4}
        maxlength={p.maxlength}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy(id, p.hint, error)}
      >
        {p.value === null || p.value === undefined ? '' : String(p.value)}
      </textarea>
      <Explain id={id} hint={p.hint} error={error} />
    </div>
  )
}

/** A labelled select. */
export const Select: FC<{
  name: string
  label: string
  options: readonly (readonly [string, string])[]
  value?: string | null
  hint?: string
  errors?: readonly FieldError[]
  errorField?: string
  id?: string
  /** Keeps the label for screen readers only (a select in a table row, named by its column). */
  hideLabel?: boolean
}> = (p) => {
  const id = p.id ?? fieldId(p.errorField ?? p.name)
  const error = errorFor(p.errors, p.errorField ?? p.name)
  return (
    <div class={error ? 'field invalid' : 'field'}>
      <label for={id} class={p.hideLabel ? 'visually-hidden' : undefined}>
        {p.label}
      </label>
      <select
        id={id}
        name={p.name}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy(id, p.hint, error)}
      >
        {p.options.map(([value, label]) => (
          <option value={value} selected={value === (p.value ?? '')}>
            {label}
          </option>
        ))}
      </select>
      <Explain id={id} hint={p.hint} error={error} />
    </div>
  )
}

/** A labelled checkbox (the label follows the box). */
export const Checkbox: FC<{
  name: string
  label: string
  checked?: boolean
  value?: string
  id?: string
  hint?: string
}> = (p) => {
  const id = p.id ?? fieldId(p.name)
  return (
    <div class="field check">
      <input
        id={id}
        type="checkbox"
        name={p.name}
        value={p.value ?? 'on'}
        checked={p.checked}
        aria-describedby={p.hint ? `${id}-hint` : undefined}
      />
      <label for={id}>{p.label}</label>
      {p.hint ? (
        <p class="hint" id={`${id}-hint`}>
          {p.hint}
        </p>
      ) : null}
    </div>
  )
}

/** The errors of a form, announced at once, each linking to its field. */
export const ErrorSummary: FC<{ errors?: readonly FieldError[] }> = ({ errors }) =>
  errors && errors.length > 0 ? (
    <div class="error-summary" role="alert" aria-labelledby="error-summary-title">
      <h2 id="error-summary-title">Please correct this</h2>
      <ul>
        {errors.map((e) => (
          <li>
            <a href={`#${fieldId(e.field)}`}>{e.message}</a>
          </li>
        ))}
      </ul>
    </div>
  ) : null

/**
 * A one-button form that POSTs to `action` with the CSRF token and `fields`; with `confirm`, the
 * script asks first (without it, the button still works).
 */
export const PostButton: FC<{
  action: string
  label: string
  csrf: string | null
  fields?: Readonly<Record<string, string>>
  confirm?: string
  danger?: boolean
  /** An accessible name when the visible label alone is ambiguous in a list (`Revoke key web`). */
  describe?: string
}> = (p) => (
  <form method="post" action={p.action} class="inline" data-confirm={p.confirm}>
    <Csrf token={p.csrf} />
    {Object.entries(p.fields ?? {}).map(([name, value]) => (
      <input type="hidden" name={name} value={value} />
    ))}
    <button type="submit" class={p.danger ? 'danger' : 'secondary'} aria-label={p.describe}>
      {p.label}
    </button>
  </form>
)

/** A table that scrolls sideways on narrow screens, reachable by keyboard. */
export const TableRegion: FC<{ label: string; class?: string; children?: Child }> = (p) => (
  <section class="table-wrap" aria-label={p.label} tabindex={0}>
    <table class={p.class}>{p.children}</table>
  </section>
)

/** A form's controls: shown but not editable for a viewer (a disabled fieldset disables every control inside). */
export const Editable: FC<{ readonly?: boolean | undefined; children?: Child }> = ({ readonly, children }) =>
  readonly ? (
    <fieldset class="read-only" disabled>
      {children}
    </fieldset>
  ) : (
    <>{children}</>
  )
