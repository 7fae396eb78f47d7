// The signed-in user, for pages that show or hide controls by who is looking.

import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { SessionUser } from "./types";

export const UserContext = createContext<SessionUser>({ authenticated: false });

export function useUser(): SessionUser {
  return useContext(UserContext);
}
