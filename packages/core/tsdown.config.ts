import { packageBuild } from '../../tsdown.base.ts'

export default packageBuild([
  'src/index.ts',
  'src/testing/index.ts',
  'src/conformance/index.ts',
  'src/conformance/race-process.ts',
])
