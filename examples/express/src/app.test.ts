import { describeSignInApp } from '@flexsecure/example-shared/testing'
import { serve } from './app.js'

describeSignInApp('Express', serve)
