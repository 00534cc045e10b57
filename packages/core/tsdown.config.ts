import { packageBuild } from '../../tsdown.base.ts'

export default packageBuild(['src/index.ts', 'src/testing/index.ts', 'src/testing/race-process.ts'])
