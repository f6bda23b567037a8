// The API client context lives in the shared package (the mobile app uses the same one).
export { ClientContext, useClient } from '@armillary/shared';
