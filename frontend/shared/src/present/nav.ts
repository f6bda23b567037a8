import type { Role } from '../api/types';

export type SectionId = 'crypto' | 'ocr' | 'analytics' | 'admin';

export interface NavSection {
  id: SectionId;
  label: string;
  /** Who sees it (default: everyone signed in); mirrors the ingress's route roles. */
  roles?: Role[];
}

/** The app's sections, in order; both apps show the same ones to the same roles. */
export const SECTIONS: NavSection[] = [
  { id: 'crypto', label: 'Crypto' },
  { id: 'ocr', label: 'OCR', roles: ['admin', 'analyst'] },
  { id: 'analytics', label: 'Analytics' },
  { id: 'admin', label: 'Admin', roles: ['admin'] },
];

export function visibleSections(role: Role | null | undefined): NavSection[] {
  return SECTIONS.filter((s) => !s.roles || (role != null && s.roles.includes(role)));
}
