import type { FC } from 'hono/jsx'
import type { ConsoleContext, ConsoleKit, Form } from '../console-context.js'
import type { FieldError } from './controls.js'
import { Layout } from './layout.js'

/** What a form that creates something takes: where it posts, its token, and what was refused. */
export interface CreationFormProps {
  readonly action: string
  readonly csrf: string | null
  readonly errors?: readonly FieldError[]
  readonly creating?: boolean
  readonly values?: Form
}

/** The page of a "create" form, shown again with the submitted values and the errors when refused. */
export async function creationPage(
  kit: ConsoleKit,
  c: ConsoleContext,
  title: string,
  action: string,
  CreationForm: FC<CreationFormProps>,
  errors: FieldError[] = [],
): Promise<Response> {
  // A viewer who opens the address sees why there is no form, not a form that answers 403.
  if (c.var.session?.role !== 'admin')
    return kit.render(
      c,
      <Layout page={kit.page(c)} title={title}>
        <p>Only administrators can do this; your console role is viewer, which reads only.</p>
      </Layout>,
      403,
    )
  const refused = errors.length > 0
  return kit.render(
    c,
    <Layout page={kit.page(c)} title={title}>
      <CreationForm
        action={action}
        csrf={c.var.csrf}
        errors={errors}
        creating
        {...(refused ? { values: await kit.form(c) } : {})}
      />
    </Layout>,
    refused ? 400 : 200,
  )
}
